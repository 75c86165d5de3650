'use strict'
// @platformatic/kafka smoke test: create a topic, produce --count records, list offsets.
//   node tests/node/platformatic_smoke.js --bootstrap 127.0.0.1:9092 --topic t [--count 10] [--partitions 1]
// stdout: {"event":"create-topic"}, one {"event":"produced",...} per record (partition, offset),
//         one {"event":"offsets",...} per partition (latest offset).
const { args, need, emit, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  count: { type: 'string', default: '10' },
  partitions: { type: 'string', default: '1' }
})

run(async () => {
  // the package is ESM only
  const { Admin, Producer, stringSerializers } = await import('@platformatic/kafka')
  const topic = need(opts, 'topic')
  const count = parseInt(opts.count, 10)
  const partitions = parseInt(opts.partitions, 10)
  const bootstrapBrokers = [need(opts, 'bootstrap')]

  const admin = new Admin({ clientId: 'gregor-platformatic-smoke', bootstrapBrokers })
  const producer = new Producer({ clientId: 'gregor-platformatic-smoke', bootstrapBrokers, serializers: stringSerializers, acks: -1 })
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
    emit({ event: 'create-topic', topic })
    for (let i = 0; i < count; i++) {
      const res = await producer.send({
        messages: [{ topic, key: `key-${i}`, value: `value-${i}`, headers: { index: String(i) } }]
      })
      for (const o of res.offsets || []) {
        emit({ event: 'produced', topic: o.topic, partition: o.partition, offset: Number(o.offset), key: `key-${i}` })
      }
    }
    const listed = await admin.listOffsets({
      topics: [{ name: topic, partitions: [...Array(partitions).keys()].map((p) => ({ partitionIndex: p, timestamp: -1n })) }]
    })
    for (const t of listed) {
      for (const p of t.partitions) {
        emit({ event: 'offsets', topic: t.name, partition: p.partitionIndex, high: Number(p.offset) })
      }
    }
  } finally {
    await producer.close()
    await admin.close()
  }
})
