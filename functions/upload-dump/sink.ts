import type { StorageSink } from '../../adapters/storage/types.ts';
import type { UploadDumpConfig } from './config.ts';

/**
 * The storage backend HEAPDUMP_STORAGE names; the config schema already checked its settings are there.
 * Only that backend's client is loaded (the Azure SDK alone is tens of MiB of resident memory).
 */
export async function sinkFromConfig(config: UploadDumpConfig): Promise<StorageSink> {
  switch (config.HEAPDUMP_STORAGE) {
    case 'file': {
      const { createFileSink } = await import('../../adapters/storage/file-sink.ts');
      return createFileSink({ root: config.HEAPDUMP_FILE_ROOT! });
    }
    case 'sftp': {
      const { createSftpSink } = await import('../../adapters/storage/sftp-sink.ts');
      return createSftpSink({
        host: config.SFTP_HOST!,
        port: config.SFTP_PORT,
        username: config.SFTP_USER!,
        privateKey: config.SFTP_PRIVATE_KEY!,
        passphrase: config.SFTP_PRIVATE_KEY_PASSPHRASE,
        hostKey: config.SFTP_HOST_KEY!,
        root: config.SFTP_ROOT,
      });
    }
    case 'azure': {
      const { createAzureSink } = await import('../../adapters/storage/azure-sink.ts');
      return createAzureSink({
        connectionString: config.AZURE_STORAGE_CONNECTION_STRING,
        container: config.AZURE_STORAGE_CONTAINER,
        containerSasUrl: config.AZURE_STORAGE_SAS_URL,
      });
    }
  }
}
