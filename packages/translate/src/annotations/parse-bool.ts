// Annotation booleans as ingress-nginx reads them (parser.GetBoolAnnotation → Go's strconv.ParseBool),
// so "True" or "1" means what it meant there, and "yes" is as invalid as it was there.

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The boolean, or undefined when Go's strconv.ParseBool would reject the text. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
}
