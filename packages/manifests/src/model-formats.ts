// The formats that kubernetes-models' validators of the six kinds we read use (int32, int64, double,
// date-time, byte, quantity), for model-validators.generated.js in place of @kubernetes-models/validate's
// index: that one also registers ajv-formats-draft2019's formats (uri-js, punycode, an SMTP address
// grammar) and loads ajv-i18n for messages we do not use, 85 modules and ~3 MB of RSS in every process
// that reads manifests. The definitions are the ones it exports: ajv-formats' full set, then base64 and
// Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource/quantity.go); model-validators.test.ts
// checks both give the same verdicts.
import { fullFormats } from 'ajv-formats/dist/formats.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIGNED_NUMBER = /[+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+)/.source;
const BINARY_SI = /[KMGTPE]i/.source;
const DECIMAL_SI = /(?:[YZEPTGMkhdcmunpfazy]|da)/.source;
const DECIMAL_EXPONENT = `[eE]${SIGNED_NUMBER}`;
const QUANTITY = new RegExp(`^${SIGNED_NUMBER}(?:${BINARY_SI}|${DECIMAL_SI}|${DECIMAL_EXPONENT})?$`);

export const formats = {
  ...fullFormats,
  byte: { type: 'string', validate: (value: string) => BASE64.test(value) },
  quantity: { type: 'string', validate: QUANTITY },
};
