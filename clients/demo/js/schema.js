// The server's own rules, checked in the browser before a form is sent: the JSON Schemas of
// /openapi.json (docs/api.md says they hold every rule a schema can say: lengths as sent,
// blank text, patterns, number ranges, list sizes, required fields). A problem found here has
// the shape of a 422's (`{loc, type}`), so errors.js shows it exactly as it shows the server's.

let documentPromise = null;

function openapi() {
  documentPromise ||= fetch("/openapi.json", { cache: "force-cache" }).then((r) => {
    if (!r.ok) throw new Error(`openapi.json: ${r.status}`);
    return r.json();
  });
  documentPromise.catch(() => (documentPromise = null));
  return documentPromise;
}

/** The request schema of a component ("JobInput"), or null when the document cannot be read
 * (the server then still checks everything). */
export async function schemaNamed(name) {
  try {
    const doc = await openapi();
    return { doc, schema: doc.components.schemas[name] };
  } catch {
    return null;
  }
}

function resolve(doc, schema) {
  while (schema && schema.$ref) schema = doc.components.schemas[schema.$ref.split("/").pop()];
  return schema || {};
}

const patterns = new Map();
function regex(pattern) {
  if (!patterns.has(pattern)) {
    let compiled = null;
    try {
      compiled = new RegExp(pattern, "u");
    } catch {
      // A pattern JavaScript cannot read is left to the server.
    }
    patterns.set(pattern, compiled);
  }
  return patterns.get(pattern);
}

/** Field paths ("title", "interview_plan.rubric.0.name") that the schema requires. */
export function requiredPaths(found, path = []) {
  if (!found) return [];
  const schema = resolve(found.doc, found.schema);
  const out = [];
  for (const [key, sub] of Object.entries(schema.properties || {})) {
    const s = resolve(found.doc, sub);
    const p = [...path, key];
    if ((schema.required || []).includes(key)) out.push(p.join("."));
    else if (s.minLength > 0 && !s.anyOf) out.push(p.join("."));
    if (s.type === "object") out.push(...requiredPaths({ doc: found.doc, schema: s }, p));
  }
  return out;
}

/** Every problem of `value` against the schema, as [{loc: [...path], type}]. */
export function check(found, value, path = []) {
  if (!found) return [];
  const { doc } = found;
  const schema = resolve(doc, found.schema);
  const problems = [];
  const at = (type) => problems.push({ loc: path, type });
  if (schema.anyOf) {
    if (value === null && schema.anyOf.some((s) => s.type === "null")) return [];
    const branch = schema.anyOf.find((s) => s.type !== "null");
    return check({ doc, schema: branch }, value, path);
  }
  if (schema.enum && !schema.enum.includes(value)) at("enum");
  switch (schema.type) {
    case "object": {
      if (value === null || typeof value !== "object") return [{ loc: path, type: "model_type" }];
      for (const key of schema.required || []) if (value[key] === undefined) problems.push({ loc: [...path, key], type: "missing" });
      for (const [key, sub] of Object.entries(schema.properties || {})) {
        if (value[key] !== undefined) problems.push(...check({ doc, schema: sub }, value[key], [...path, key]));
      }
      break;
    }
    case "array":
      if (!Array.isArray(value)) return [{ loc: path, type: "list_type" }];
      if (schema.minItems !== undefined && value.length < schema.minItems) at("too_short");
      if (schema.maxItems !== undefined && value.length > schema.maxItems) at("too_long");
      value.forEach((item, i) => problems.push(...check({ doc, schema: schema.items || {} }, item, [...path, String(i)])));
      break;
    case "string": {
      if (typeof value !== "string") return [{ loc: path, type: "string_type" }];
      if (schema.maxLength !== undefined && [...value].length > schema.maxLength) at("string_too_long");
      else if (schema.pattern && regex(schema.pattern) && !regex(schema.pattern).test(value)) {
        at(schema.minLength > 0 && !value.trim() ? "string_too_short" : "string_pattern_mismatch");
      }
      break;
    }
    case "integer":
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return [{ loc: path, type: schema.type === "integer" ? "int_parsing" : "float_parsing" }];
      if (schema.type === "integer" && !Number.isInteger(value)) at("int_from_float");
      else if (schema.minimum !== undefined && value < schema.minimum) at("greater_than_equal");
      else if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) at("greater_than");
      else if (schema.maximum !== undefined && value > schema.maximum) at("less_than_equal");
      else if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) at("less_than");
      break;
    }
    default:
      break;
  }
  return problems;
}
