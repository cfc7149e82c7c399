import { createAzureSink } from '../../adapters/storage/azure-sink.ts';
import { createFileSink } from '../../adapters/storage/file-sink.ts';
import { createSftpSink } from '../../adapters/storage/sftp-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import type { UploadDumpConfig } from './config.ts';

/** The storage backend HEAPDUMP_STORAGE names; the config schema already checked its settings are there. */
export function sinkFromConfig(config: UploadDumpConfig): StorageSink {
  switch (config.HEAPDUMP_STORAGE) {
    case 'file':
      return createFileSink({ root: config.HEAPDUMP_FILE_ROOT! });
    case 'sftp':
      return createSftpSink({
        host: config.SFTP_HOST!,
        port: config.SFTP_PORT,
        username: config.SFTP_USER!,
        privateKey: config.SFTP_PRIVATE_KEY!,
        passphrase: config.SFTP_PRIVATE_KEY_PASSPHRASE,
        hostKey: config.SFTP_HOST_KEY!,
        root: config.SFTP_ROOT,
      });
    case 'azure':
      return createAzureSink({
        connectionString: config.AZURE_STORAGE_CONNECTION_STRING,
        container: config.AZURE_STORAGE_CONTAINER,
        containerSasUrl: config.AZURE_STORAGE_SAS_URL,
      });
  }
}
