import protobuf from 'protobufjs/light.js';

/*
 * The messages of Prometheus' protobuf exposition (`io.prometheus.client.MetricFamily`, proto2), described with
 * protobufjs' reflection API from the field numbers and types of Prometheus' `client_model`. Only the fields the kit
 * writes or a reader may need are described; unknown fields are skipped by every reader.
 */

const { Enum, Field, Root, Type } = protobuf;

/** `io.prometheus.client.MetricType`. */
export const METRIC_TYPE = Object.freeze({
  COUNTER: 0,
  GAUGE: 1,
  SUMMARY: 2,
  UNTYPED: 3,
  HISTOGRAM: 4,
  GAUGE_HISTOGRAM: 5,
});

type FieldSpec = readonly [name: string, id: number, type: string, rule?: 'repeated'];

function message(name: string, fields: readonly FieldSpec[]): protobuf.Type {
  const type = new Type(name);
  for (const [field, id, kind, rule] of fields) type.add(new Field(field, id, kind, rule ?? 'optional'));
  return type;
}

function build(): protobuf.Root {
  const root = new Root();
  root.define('google.protobuf').add(
    message('Timestamp', [
      ['seconds', 1, 'int64'],
      ['nanos', 2, 'int32'],
    ]),
  );
  const ns = root.define('io.prometheus.client');
  ns.add(new Enum('MetricType', { ...METRIC_TYPE }));
  ns.add(
    message('LabelPair', [
      ['name', 1, 'string'],
      ['value', 2, 'string'],
    ]),
  );
  ns.add(message('Gauge', [['value', 1, 'double']]));
  ns.add(
    message('Counter', [
      ['value', 1, 'double'],
      ['exemplar', 2, 'Exemplar'],
      ['createdTimestamp', 3, 'google.protobuf.Timestamp'],
    ]),
  );
  ns.add(
    message('Quantile', [
      ['quantile', 1, 'double'],
      ['value', 2, 'double'],
    ]),
  );
  ns.add(
    message('Summary', [
      ['sampleCount', 1, 'uint64'],
      ['sampleSum', 2, 'double'],
      ['quantile', 3, 'Quantile', 'repeated'],
      ['createdTimestamp', 4, 'google.protobuf.Timestamp'],
    ]),
  );
  ns.add(message('Untyped', [['value', 1, 'double']]));
  ns.add(
    message('Histogram', [
      ['sampleCount', 1, 'uint64'],
      ['sampleCountFloat', 4, 'double'],
      ['sampleSum', 2, 'double'],
      ['bucket', 3, 'Bucket', 'repeated'],
      ['createdTimestamp', 15, 'google.protobuf.Timestamp'],
      ['schema', 5, 'sint32'],
      ['zeroThreshold', 6, 'double'],
      ['zeroCount', 7, 'uint64'],
      ['zeroCountFloat', 8, 'double'],
      ['negativeSpan', 9, 'BucketSpan', 'repeated'],
      ['negativeDelta', 10, 'sint64', 'repeated'],
      ['negativeCount', 11, 'double', 'repeated'],
      ['positiveSpan', 12, 'BucketSpan', 'repeated'],
      ['positiveDelta', 13, 'sint64', 'repeated'],
      ['positiveCount', 14, 'double', 'repeated'],
      ['exemplars', 16, 'Exemplar', 'repeated'],
    ]),
  );
  ns.add(
    message('Bucket', [
      ['cumulativeCount', 1, 'uint64'],
      ['cumulativeCountFloat', 4, 'double'],
      ['upperBound', 2, 'double'],
      ['exemplar', 3, 'Exemplar'],
    ]),
  );
  ns.add(
    message('BucketSpan', [
      ['offset', 1, 'sint32'],
      ['length', 2, 'uint32'],
    ]),
  );
  ns.add(
    message('Exemplar', [
      ['label', 1, 'LabelPair', 'repeated'],
      ['value', 2, 'double'],
      ['timestamp', 3, 'google.protobuf.Timestamp'],
    ]),
  );
  ns.add(
    message('Metric', [
      ['label', 1, 'LabelPair', 'repeated'],
      ['gauge', 2, 'Gauge'],
      ['counter', 3, 'Counter'],
      ['summary', 4, 'Summary'],
      ['untyped', 5, 'Untyped'],
      ['histogram', 7, 'Histogram'],
      ['timestampMs', 6, 'int64'],
    ]),
  );
  ns.add(
    message('MetricFamily', [
      ['name', 1, 'string'],
      ['help', 2, 'string'],
      ['type', 3, 'MetricType'],
      ['metric', 4, 'Metric', 'repeated'],
      ['unit', 5, 'string'],
    ]),
  );
  root.resolveAll();
  return root;
}

let root: protobuf.Root | undefined;

/** The `io.prometheus.client` messages, described once on first use. */
export function metricsProto(): { readonly MetricFamily: protobuf.Type; readonly Metric: protobuf.Type } {
  root ??= build();
  return {
    MetricFamily: root.lookupType('io.prometheus.client.MetricFamily'),
    Metric: root.lookupType('io.prometheus.client.Metric'),
  };
}
