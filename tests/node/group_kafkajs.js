'use strict'
// kafkajs 2.2.4 consumer groups (the classic protocol, JoinGroup v0-5 / SyncGroup v0-3 era):
// two members of one group split a topic's partitions, each record is read once, a member that
// disconnects (LeaveGroup) hands its partitions over at once, and a new member of the group
// resumes at the offsets the group committed.
//   node tests/node/group_kafkajs.js --bootstrap B --topic T --group G [--partitions 6] [--count 60]
// stdout:
//   {"event":"split","assignments":[[p..],[p..]],"consumed":[n1,n2],"records":N,"duplicates":D}
//   {"event":"after-leave","assignment":[p..],"records":N}     c2 disconnected, c1 owns everything
//   {"event":"resumed","records":N,"offsets_below_commit":K}  a third member after c1 committed and left
//   {"event":"describe","state","protocol","members"}          admin.describeGroups at the end
//   {"event":"committed","offsets":{p: offset}}                admin.fetchOffsets
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel } = require('kafkajs')
const { args, need, emit, kafkajsLogCreator, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  group: { type: 'string' },
  partitions: { type: 'string', default: '6' },
  count: { type: 'string', default: '60' }
})

async function until (pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (pred()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

run(async () => {
  const topic = need(opts, 'topic')
  const groupId = need(opts, 'group')
  const partitions = parseInt(opts.partitions, 10)
  const count = parseInt(opts.count, 10)
  const kafka = new Kafka({ clientId: 'gregor-kafkajs-group', brokers: [need(opts, 'bootstrap')], logLevel: logLevel.WARN, logCreator: kafkajsLogCreator })
  const admin = kafka.admin()
  const producer = kafka.producer()
  await admin.connect()
  await producer.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })

  const seen = new Map() // "p:o" -> times read
  const members = []
  function member (name) {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000, maxWaitTimeInMs: 100 })
    const m = { name, consumer, assignment: [], consumed: 0, offsets: [] }
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      m.assignment = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
    })
    members.push(m)
    return m
  }
  async function start (m) {
    await m.consumer.connect()
    await m.consumer.subscribe({ topics: [topic], fromBeginning: true })
    await m.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const k = `${partition}:${message.offset}`
        seen.set(k, (seen.get(k) || 0) + 1)
        m.consumed++
        m.offsets.push([partition, Number(message.offset)])
      }
    })
  }
  async function produce (tag, n) {
    const messages = []
    for (let i = 0; i < n; i++) messages.push({ partition: i % partitions, value: `${tag}-${i}` })
    await producer.send({ topic, messages, acks: -1 })
  }
  const total = () => [...seen.values()].reduce((a, b) => a + b, 0)

  const c1 = member('c1')
  const c2 = member('c2')
  await start(c1)
  await start(c2)
  await until(() => c1.assignment.length + c2.assignment.length === partitions &&
    c1.assignment.length > 0 && c2.assignment.length > 0 &&
    new Set([...c1.assignment, ...c2.assignment]).size === partitions, 30000, 'both members assigned')
  await produce('split', count)
  await until(() => total() >= count, 30000, `${count} records`)
  emit({ event: 'split', assignments: [c1.assignment, c2.assignment], consumed: [c1.consumed, c2.consumed], records: seen.size, duplicates: total() - seen.size })

  await c2.consumer.disconnect()
  await until(() => c1.assignment.length === partitions, 15000, 'c1 owning every partition')
  await produce('after', partitions)
  await until(() => total() >= count + partitions, 30000, 'records after the leave')
  emit({ event: 'after-leave', assignment: c1.assignment, records: seen.size })

  await c1.consumer.disconnect() // commits what it consumed
  const committed = {}
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) committed[p.partition] = Number(p.offset)
  }
  const c3 = member('c3')
  await start(c3)
  await until(() => c3.assignment.length === partitions, 30000, 'c3 assigned')
  await produce('resume', partitions)
  await until(() => c3.consumed >= partitions, 30000, 'c3 reading the new records')
  emit({ event: 'resumed', records: c3.consumed, offsets_below_commit: c3.offsets.filter(([p, o]) => o < committed[p]).length })

  const d = await admin.describeGroups([groupId])
  const g = d.groups[0]
  emit({ event: 'describe', state: g.state, protocol: g.protocol, members: g.members.length })
  await c3.consumer.disconnect()
  const offsets = {}
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) offsets[p.partition] = Number(p.offset)
  }
  emit({ event: 'committed', offsets })
  await producer.disconnect()
  await admin.disconnect()
})
