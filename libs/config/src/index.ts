export { ConfigError } from './errors';
export { loadSettings, type LoadSettingsOptions, type RawSettings } from './load-settings';
export { setting, settingsRegistry, type SettingMeta } from './setting';
export { readSettingsTable, replaceSettingsTable, settingsTable, type SettingsTableOptions } from './settings-table';
export { listSettings, type FileKeyStyle, type SettingLeaf } from './settings-tree';
export { bool, csv, int, oneOf, url, withoutTrailingSlash } from './values';
export { readYamlFile } from './yaml-file';
