// The committed ahead-of-time validators are what scripts/generate-validators.mjs makes of the committed
// schemas with the installed ajv: a schema or ajv change without regenerating them fails here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as strictValidators from './strict-validators.generated.js';

const GENERATOR = '../scripts/generate-validators.mjs';

describe('strict-validators.generated.js', () => {
  it('is what generate-validators makes of strict-schemas.generated.json today', async () => {
    const { validatorModuleSource } = (await import(GENERATOR)) as { validatorModuleSource(): string };
    const committed = readFileSync(
      fileURLToPath(new URL('./strict-validators.generated.js', import.meta.url)),
      'utf8',
    );
    expect(committed === validatorModuleSource()).toBe(true);
  });

  it('exports one validator per kind of the schemas, each naming what failed', () => {
    const schemas = JSON.parse(
      readFileSync(fileURLToPath(new URL('./strict-schemas.generated.json', import.meta.url)), 'utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(strictValidators).sort()).toEqual(Object.keys(schemas).sort());
    const ingress = strictValidators.Ingress as unknown as ((d: unknown) => boolean) & {
      errors?: { instancePath: string; keyword: string }[] | null;
    };
    const bad = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'a' },
      spec: { rulez: [] },
    };
    expect(ingress(bad)).toBe(false);
    expect(ingress.errors?.map((e) => `${e.instancePath} ${e.keyword}`)).toContain(
      '/spec additionalProperties',
    );
  });
});
