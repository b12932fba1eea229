import protobuf from 'protobufjs/light.js';
import { metricsProto } from '../../lib/metric-family-proto.js';

/** A decoded `MetricFamily`, longs as numbers and enums as names, absent fields left out. */
export interface DecodedFamily {
  name: string;
  help: string;
  type: string;
  metric: Record<string, any>[];
}

/** Decodes a delimited protobuf exposition with protobufjs, the library that encoded it. */
export function decodeFamilies(body: Uint8Array): DecodedFamily[] {
  const { MetricFamily } = metricsProto();
  const reader = protobuf.Reader.create(body);
  const out: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamily.decodeDelimited(reader);
    out.push(MetricFamily.toObject(message, { longs: Number, enums: String, arrays: false }) as DecodedFamily);
  }
  return out;
}

/** The family of this name. */
export function family(families: readonly DecodedFamily[], name: string): DecodedFamily {
  const f = families.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no family ${name} in ${families.map((x) => x.name).join(', ')}`);
  return f;
}

/** A metric's labels as an object. */
export function labelsOf(metric: Record<string, any>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of (metric['label'] ?? []) as { name: string; value: string }[]) out[l.name] = l.value;
  return out;
}
