// Regenerates src/strict-schemas.generated.json: strict JSON schemas of the six kinds we read, derived
// from kubernetes-models' declarations (which mirror the Kubernetes OpenAPI schema) by
// ts-json-schema-generator. Run after upgrading kubernetes-models: pnpm --filter @gateway/manifests generate-schemas
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const generated = createGenerator({
  path: here('./schema-entry.ts'),
  tsconfig: here('./tsconfig.json'),
  type: 'Kinds',
  // 'none' inlines every type: core/v1 and discovery/v1 both declare an IEndpointPort.
  expose: 'none',
  topRef: false,
  jsDoc: 'none',
  additionalProperties: false,
  skipTypeCheck: true,
}).createSchema('Kinds');

// An empty interface (FieldsV1 in managedFields) is a free-form object in the API: only objects that
// list properties are closed.
function freeEmptyObjects(schema) {
  if (Array.isArray(schema)) schema.forEach(freeEmptyObjects);
  else if (schema && typeof schema === 'object') {
    if (schema.type === 'object' && !schema.properties && schema.additionalProperties === false) {
      delete schema.additionalProperties;
    }
    Object.values(schema).forEach(freeEmptyObjects);
  }
}
freeEmptyObjects(generated);

const out = here('../src/strict-schemas.generated.json');
writeFileSync(out, `${JSON.stringify(generated.properties)}\n`);
execFileSync('pnpm', ['exec', 'biome', 'format', '--write', out], { stdio: 'inherit' });
