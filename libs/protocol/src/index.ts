export * from './version';
export * from './names';
export * from './inventory';
export * from './instances';
export * from './jobs';
export * from './streams';
export * from './messages';
export * from './tokens';
