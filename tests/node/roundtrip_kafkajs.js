'use strict'
// kafkajs producer + admin against one topic (kafkajs' consumer needs consumer groups, so the
// Python test reads the records back with another client).
//   node tests/node/roundtrip_kafkajs.js --bootstrap B --topic T [--partitions 3] [--count 12]
//        [--acks all,1,0] [--compression none,gzip] [--idempotent] [--delete]
// For every (acks, compression) pair it sends --count records in one producer.send():
//   key "kk-<i % 5>", value "<tag>-<i>" (tag = "acks<all|1|0>-<compression>"), headers {index, tag}.
// With --idempotent one more send with an idempotent producer (acks -1, tag "idem-<compression>").
// stdout:
//   {"event":"create-topic","created"}                        createTopics (true: created)
//   {"event":"create-topic-again","created"}                  createTopics for the same name again
//   {"event":"metadata","topic","partitions":[{partition,leader,replicas,isr}]}   fetchTopicMetadata
//   {"event":"produced","tag","acks","compression","count","results":[{partition,base_offset,error_code}]}
//   {"event":"offsets","partition","low","high"}              fetchTopicOffsets per partition
//   {"event":"configs","entries":{name: value}}               describeConfigs(topic)
//   {"event":"list-topics","topics":[...]}                    listTopics
//   {"event":"deleted","listed_after"}                        with --delete: deleteTopics, then listTopics
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs')
// lib.run() ends with process.exit(), which can cut off stdout still queued for a pipe (large
// outputs): flushStdout() waits until everything written so far has been handed to the OS.
const flushStdout = () => new Promise((resolve) => process.stdout.write('', resolve))
const { args, need, emit, kafkajsLogCreator, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  partitions: { type: 'string', default: '3' },
  count: { type: 'string', default: '12' },
  acks: { type: 'string', default: 'all,1,0' }, // "all" = -1 (parseArgs takes "-1" for an option)
  compression: { type: 'string', default: 'none,gzip' },
  idempotent: { type: 'boolean', default: false },
  delete: { type: 'boolean', default: false }
})

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

function messages (tag, count) {
  const out = []
  for (let i = 0; i < count; i++) {
    out.push({ key: `kk-${i % 5}`, value: `${tag}-${i}`, headers: { index: String(i), tag } })
  }
  return out
}

run(async () => {
  const topic = need(opts, 'topic')
  const count = parseInt(opts.count, 10)
  const partitions = parseInt(opts.partitions, 10)
  const kafka = new Kafka({
    clientId: 'gregor-kafkajs-roundtrip',
    brokers: [need(opts, 'bootstrap')],
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator,
    retry: { retries: 5 }
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true
    })
    emit({ event: 'create-topic', topic, created })
    const again = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] })
    emit({ event: 'create-topic-again', topic, created: again })

    const md = await admin.fetchTopicMetadata({ topics: [topic] })
    for (const t of md.topics) {
      emit({
        event: 'metadata',
        topic: t.name,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, error_code: p.partitionErrorCode }))
          .sort((a, b) => a.partition - b.partition)
      })
    }

    const plan = []
    for (const acks of opts.acks.split(',').map((a) => (a === 'all' ? -1 : parseInt(a, 10)))) {
      for (const compression of opts.compression.split(',')) {
        plan.push({ tag: `acks${acks === -1 ? 'all' : acks}-${compression}`, acks, compression, idempotent: false })
      }
    }
    if (opts.idempotent) {
      for (const compression of opts.compression.split(',')) {
        plan.push({ tag: `idem-${compression}`, acks: -1, compression, idempotent: true })
      }
    }
    for (const step of plan) {
      if (!(step.compression in CODECS)) throw new Error(`kafkajs has no built-in ${step.compression} codec`)
      const producer = kafka.producer({
        allowAutoTopicCreation: false,
        idempotent: step.idempotent,
        maxInFlightRequests: step.idempotent ? 1 : undefined
      })
      await producer.connect()
      try {
        const res = await producer.send({
          topic, acks: step.acks, compression: CODECS[step.compression], messages: messages(step.tag, count)
        })
        emit({
          event: 'produced',
          tag: step.tag,
          acks: step.acks,
          compression: step.compression,
          idempotent: step.idempotent,
          count,
          results: (res || []).map((r) => ({ partition: r.partition, base_offset: Number(r.baseOffset), error_code: r.errorCode }))
        })
      } finally {
        await producer.disconnect()
      }
    }

    const offsets = await admin.fetchTopicOffsets(topic)
    for (const o of offsets.sort((a, b) => a.partition - b.partition)) {
      emit({ event: 'offsets', topic, partition: o.partition, low: Number(o.low), high: Number(o.high) })
    }

    const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })
    const entries = {}
    for (const r of cfg.resources) {
      if (r.errorCode) throw new Error(`describeConfigs error ${r.errorCode}: ${r.errorMessage}`)
      for (const e of r.configEntries) entries[e.configName] = e.configValue
    }
    emit({ event: 'configs', topic, entries })

    emit({ event: 'list-topics', topics: (await admin.listTopics()).sort() })

    if (opts.delete) {
      await admin.deleteTopics({ topics: [topic], timeout: 10000 })
      emit({ event: 'deleted', topic, listed_after: (await admin.listTopics()).includes(topic) })
    }
  } finally {
    await admin.disconnect()
  }
  await flushStdout()
})
