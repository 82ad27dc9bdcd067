export {
  type CertificateBinding,
  type CertificateExpiry,
  CertificateStore,
  type CertificateStoreOptions,
  CertificateTables,
  DEFAULT_COMMON_NAME,
  type SniCallback,
  type TlsDiagnostic,
  type TlsServerOptions,
} from './certificate-store.js';
