import { defineErrors } from '../http/error-catalog';

/** Backups and the S3 storage configs they go to. */
export const BACKUP_ERRORS = defineErrors('backups', {
  backup_limit_reached: { status: 409, message: 'the instance has as many backups as allowed: delete one first' },
  backup_locked: { status: 409, message: 'the backup is locked: unlock it first' },
  backup_busy: { status: 409, message: 'the backup is creating, uploading or deleting' },
  backup_not_ready: { status: 409, message: 'only a ready backup can be restored or downloaded' },
  backup_on_other_node: { status: 409, message: 'the backup is kept on another node than the instance runs on' },
  instance_not_stopped: { status: 409, message: 'stop the instance before restoring a backup into it' },
  config_in_use: {
    status: 409,
    message: 'backups are stored with this config: its bucket, endpoint and region cannot change',
  },
  storage_config_gone: { status: 409, message: 'the storage config of this backup is gone' },
  bucket_exists: { status: 409, message: 'the bucket already exists' },
  storage_unreachable: { status: 422, message: 'the bucket cannot be reached with these credentials' },
  storage_error: { status: 502, message: 'the storage provider refused or is unreachable' },
  checksum_mismatch: { status: 502, message: 'the archive read differs from the one backed up' },
  size_mismatch: { status: 502, message: 'the archive has another size than the backup recorded' },
});
