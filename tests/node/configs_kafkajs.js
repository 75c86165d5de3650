'use strict'
// kafkajs 2.2.4's admin against a broker: alterConfigs (AlterConfigs, the whole-set API, the
// version kafkajs picks), describeConfigs, deleteTopicRecords (DeleteRecords) and
// fetchTopicOffsets. Driven by tests/integration/test_configs.py.
//
//   node configs_kafkajs.js --bootstrap HOST:PORT --topic T
//
// Output (one JSON object per line):
//   {"event":"altered"}                                      alterConfigs retention.ms, segment.ms
//   {"event":"configs","entries":{name:[value,source]}}     describeConfigs with synonyms
//   {"event":"refused","error","code"}                      alterConfigs with a bad value
//   {"event":"offsets","low","high"}                        after deleteTopicRecords up to 3
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs')
const { args, need, emit, kafkajsLogCreator, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' }
})

run(async () => {
  const topic = need(opts, 'topic')
  const kafka = new Kafka({
    clientId: 'gregor-kafkajs-configs',
    brokers: [need(opts, 'bootstrap')],
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator,
    retry: { retries: 2 }
  })
  const admin = kafka.admin()
  await admin.connect()
  const producer = kafka.producer()
  await producer.connect()
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'segment.ms', value: '600000' }]
      }]
    })
    emit({ event: 'altered' })
    const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: true })
    const entries = {}
    for (const r of cfg.resources) {
      for (const e of r.configEntries) entries[e.configName] = [e.configValue, e.configSource]
    }
    emit({ event: 'configs', entries })
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: 'abc' }] }]
      })
      emit({ event: 'refused', error: null })
    } catch (e) {
      emit({ event: 'refused', error: e.type || e.name, code: e.code })
    }
    await producer.send({ topic, messages: [1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `v${i}` })) })
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '3' }] })
    const offs = await admin.fetchTopicOffsets(topic)
    emit({ event: 'offsets', low: Number(offs[0].low), high: Number(offs[0].high) })
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
})
