import { BackupStore } from '../backups/backup-store';
import type { InstanceStore } from '../instances/instance-store';
import { FileTransfers } from './file-transfers';
import { InstanceFiles } from '../files/instance-files';
import { UploadStaging } from '../files/uploads';

/** Everything of the host that deals with instance files: one set per agent, shared by jobs and streams. */
export interface FileServices {
  files: InstanceFiles;
  uploads: UploadStaging;
  backups: BackupStore;
  transfers: FileTransfers;
}

export function createFileServices(stateDir: string, store: InstanceStore): FileServices {
  const files = new InstanceFiles(store);
  const uploads = new UploadStaging(stateDir, files);
  const backups = new BackupStore(stateDir, files);
  return { files, uploads, backups, transfers: new FileTransfers(files, uploads, backups) };
}
