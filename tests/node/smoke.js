'use strict'
// kafkajs smoke test: create a topic, produce --count records one by one (acks=all),
// then read the partition offsets back with admin.fetchTopicOffsets.
// (kafkajs consumers need consumer groups; this script avoids them.)
//   node tests/node/smoke.js --bootstrap 127.0.0.1:9092 --topic t [--count 10] [--partitions 1]
// stdout: {"event":"create-topic",...}, one {"event":"produced",...} per record, one
//         {"event":"offsets",...} per partition.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel } = require('kafkajs')
const { args, need, emit, kafkajsLogCreator, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  count: { type: 'string', default: '10' },
  partitions: { type: 'string', default: '1' }
})

run(async () => {
  const topic = need(opts, 'topic')
  const count = parseInt(opts.count, 10)
  const kafka = new Kafka({
    clientId: 'gregor-node-smoke',
    brokers: [need(opts, 'bootstrap')],
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator,
    retry: { retries: 5 }
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: parseInt(opts.partitions, 10), replicationFactor: 1 }],
      waitForLeaders: true
    })
    emit({ event: 'create-topic', topic, created })

    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      for (let i = 0; i < count; i++) {
        const res = await producer.send({
          topic,
          acks: -1,
          messages: [{ key: `key-${i}`, value: `value-${i}`, headers: { index: String(i) } }]
        })
        for (const r of res) {
          emit({ event: 'produced', topic: r.topicName, partition: r.partition, offset: Number(r.baseOffset), key: `key-${i}`, error_code: r.errorCode })
        }
      }
    } finally {
      await producer.disconnect()
    }

    const offsets = await admin.fetchTopicOffsets(topic)
    for (const o of offsets.sort((a, b) => a.partition - b.partition)) {
      emit({ event: 'offsets', topic, partition: o.partition, low: Number(o.low), high: Number(o.high) })
    }
  } finally {
    await admin.disconnect()
  }
})
