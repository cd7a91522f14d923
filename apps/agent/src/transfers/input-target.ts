/** Where an input stream's bytes go (a staged file, a staged upload, an arriving backup). */
export interface InputTarget {
  write(chunk: Buffer): Promise<void>;
  /** All input arrived (eof): make it durable and put it in place; the bytes now staged. */
  finish(): Promise<number>;
  /** The stream ended without eof, or failed: keep what is resumable, drop what is not. */
  abandon(): Promise<void>;
  /** A resumable target: the bytes staged (after abandon, durably), told in a failure's close too. */
  staged?(): number;
}
