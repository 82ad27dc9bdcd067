export {
  type CertificateBinding,
  type CertificateExpiry,
  CertificateStore,
  type CertificateStoreOptions,
  DEFAULT_COMMON_NAME,
  type SniCallback,
  type TlsDiagnostic,
  type TlsServerOptions,
} from './certificate-store.js';
