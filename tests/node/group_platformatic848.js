'use strict'
// @platformatic/kafka consumers with groupProtocol 'consumer' (KIP-848): two members of one
// group on a --partitions topic split it and read --count records once; when one closes (a
// ConsumerGroupHeartbeat with epoch -1) the other ends up with every partition.
//   node tests/node/group_platformatic848.js --bootstrap B --topic T --group G [--partitions 6] [--count 60]
// stdout: {"event":"split","assignments":[[..],[..]],"records":N,"duplicates":D}
//         {"event":"after-leave","assignment":[..]}
const { args, need, emit, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  group: { type: 'string' },
  partitions: { type: 'string', default: '6' },
  count: { type: 'string', default: '60' }
})

function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

async function until (what, predicate, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

function partitionsOf (consumer, topic) {
  const out = []
  for (const a of consumer.assignments || []) if (a.topic === topic) out.push(...a.partitions)
  return out.sort((x, y) => x - y)
}

run(async () => {
  const { Admin, Consumer, Producer, stringSerializers, stringDeserializers } = await import('@platformatic/kafka')
  const topic = need(opts, 'topic')
  const groupId = need(opts, 'group')
  const partitions = parseInt(opts.partitions, 10)
  const count = parseInt(opts.count, 10)
  const bootstrapBrokers = [need(opts, 'bootstrap')]
  const admin = new Admin({ clientId: 'gregor-p848-admin', bootstrapBrokers })
  const producer = new Producer({ clientId: 'gregor-p848-producer', bootstrapBrokers, serializers: stringSerializers })
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  await admin.close()

  const seen = new Map()
  const members = []
  for (let i = 0; i < 2; i++) {
    const consumer = new Consumer({
      groupId, clientId: `gregor-p848-${i}`, bootstrapBrokers, deserializers: stringDeserializers,
      groupProtocol: 'consumer', maxWaitTime: 500
    })
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    stream.on('data', (m) => {
      const k = `${m.partition}:${m.offset}`
      seen.set(k, (seen.get(k) || 0) + 1)
    })
    members.push({ consumer, stream })
  }
  try {
    await until('two members with an even split', () => {
      const a = partitionsOf(members[0].consumer, topic)
      const b = partitionsOf(members[1].consumer, topic)
      return a.length + b.length === partitions && new Set([...a, ...b]).size === partitions &&
        Math.abs(a.length - b.length) <= 1
    })
    for (let i = 0; i < count; i++) {
      await producer.send({ messages: [{ topic, key: `k${i}`, value: `v${i}`, partition: i % partitions }] })
    }
    await until(`${count} records`, () => seen.size >= count, 30000)
    let dups = 0
    for (const v of seen.values()) dups += v - 1
    emit({
      event: 'split',
      assignments: members.map((m) => partitionsOf(m.consumer, topic)),
      records: seen.size,
      duplicates: dups
    })
    await members[1].stream.close()
    await members[1].consumer.close()
    await until('the remaining member owning every partition',
      () => partitionsOf(members[0].consumer, topic).length === partitions, 30000)
    emit({ event: 'after-leave', assignment: partitionsOf(members[0].consumer, topic) })
  } finally {
    await producer.close()
    for (const m of members) {
      try { await m.stream.close() } catch (e) {}
      try { await m.consumer.close() } catch (e) {}
    }
  }
})
