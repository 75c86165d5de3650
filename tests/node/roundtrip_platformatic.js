'use strict'
// @platformatic/kafka round trip (newest protocol versions: Produce >= 9, Fetch >= 15, Metadata >= 12).
// Produces with keys and headers for each --compression, then reads everything back with the
// group-less Consumer.fetch() (one Fetch per partition from offset 0 up to the high watermark).
//   node tests/node/roundtrip_platformatic.js --bootstrap B --topic T [--partitions 3] [--count 20]
//        [--compression none,gzip,snappy,lz4,zstd] [--acks all|1|0] [--idempotent] [--no-create] [--no-produce]
//        [--expect N (records to wait for when reading, default: all produced)] [--timeout-ms 20000]
// stdout:
//   {"event":"create-topic","topic"}                          unless --no-create
//   {"event":"skip","compression","reason"}                   codec not available in this Node.js
//   {"event":"produced","compression","index","key"}         per record sent
//   {"event":"produced-batch","compression","partition","offset"}  per partition in the send() result
//   {"event":"offsets","partition","high"}                    ListOffsets(latest) per partition
//   {"event":"record","partition","offset","key","value","headers":[[k,v]...],"timestamp",
//    "batch":{"base_offset","producer_id","producer_epoch","base_sequence","compression","magic",
//             "leader_epoch"}}                               per record read back
//   {"event":"fetch","partition","high_watermark","log_start_offset","error_code","next_offset"}  per partition (last fetch)
//   {"event":"read-done","records","expected"}
// lib.run() ends with process.exit(), which can cut off stdout still queued for a pipe (large
// outputs): flushStdout() waits until everything written so far has been handed to the OS.
const flushStdout = () => new Promise((resolve) => process.stdout.write('', resolve))
const { args, need, emit, run } = require('./lib')

const opts = args({
  bootstrap: { type: 'string' },
  topic: { type: 'string' },
  partitions: { type: 'string', default: '3' },
  count: { type: 'string', default: '20' },
  compression: { type: 'string', default: 'none' },
  acks: { type: 'string', default: 'all' }, // all|1|0 ("-1" would parse as an option)
  idempotent: { type: 'boolean', default: false },
  'no-create': { type: 'boolean', default: false },
  'no-produce': { type: 'boolean', default: false },
  expect: { type: 'string' },
  'timeout-ms': { type: 'string', default: '20000' }
})

const str = (b) => (b === null || b === undefined ? null : b.toString('utf8'))

run(async () => {
  const { Admin, Producer, Consumer, stringSerializers, compressionsAlgorithms } = await import('@platformatic/kafka')
  const topic = need(opts, 'topic')
  const count = parseInt(opts.count, 10)
  const partitions = parseInt(opts.partitions, 10)
  const acks = opts.acks === 'all' ? -1 : parseInt(opts.acks, 10)
  const timeoutMs = parseInt(opts['timeout-ms'], 10)
  const bootstrapBrokers = [need(opts, 'bootstrap')]
  const clientId = 'gregor-platformatic-roundtrip'

  const admin = new Admin({ clientId, bootstrapBrokers })
  let produced = 0
  try {
    if (!opts['no-create']) {
      await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
      emit({ event: 'create-topic', topic })
    }
    if (!opts['no-produce']) {
      for (const compression of opts.compression.split(',')) {
        if (compressionsAlgorithms && compressionsAlgorithms[compression] && !compressionsAlgorithms[compression].available) {
          emit({ event: 'skip', compression, reason: `${compression} not available in Node.js ${process.version}` })
          continue
        }
        const producer = new Producer({
          clientId, bootstrapBrokers, serializers: stringSerializers, acks, compression, idempotent: opts.idempotent
        })
        try {
          // one send() per batch of records so that compression applies to multi-record batches
          const messages = []
          for (let i = 0; i < count; i++) {
            messages.push({
              topic,
              key: `pk-${i % 7}`,
              value: `${compression}-value-${i}-` + 'v'.repeat(i * 11),
              headers: { index: String(i), codec: compression }
            })
          }
          const res = await producer.send({ messages, acks, compression })
          const offs = res.offsets || []
          for (let i = 0; i < count; i++) {
            emit({ event: 'produced', compression, index: i, key: messages[i].key })
          }
          for (const o of offs) {
            emit({ event: 'produced-batch', compression, partition: o.partition, offset: Number(o.offset) })
          }
          produced += count
        } finally {
          await producer.close()
        }
      }
    }

    const listed = await admin.listOffsets({
      topics: [{ name: topic, partitions: [...Array(partitions).keys()].map((p) => ({ partitionIndex: p, timestamp: -1n })) }]
    })
    const highs = {}
    for (const t of listed) {
      for (const p of t.partitions) {
        highs[p.partitionIndex] = Number(p.offset)
        emit({ event: 'offsets', partition: p.partitionIndex, high: Number(p.offset) })
      }
    }
  } finally {
    await admin.close()
  }

  // read back without a consumer group: Consumer.fetch() sends plain Fetch requests
  const expect = opts.expect !== undefined ? parseInt(opts.expect, 10) : produced
  const consumer = new Consumer({ clientId, bootstrapBrokers, groupId: 'gregor-unused-group', maxWaitTime: 500 })
  try {
    const md = await consumer.metadata({ topics: [topic], forceUpdate: true })
    const tmd = md.topics.get(topic)
    if (!tmd) throw new Error(`no metadata for ${topic}`)
    const next = tmd.partitions.map(() => 0n)
    const done = tmd.partitions.map(() => false)
    const last = tmd.partitions.map(() => null)
    const deadline = Date.now() + timeoutMs
    let got = 0
    while (Date.now() < deadline && (got < expect || !done.every(Boolean))) {
      for (let p = 0; p < tmd.partitions.length; p++) {
        const leader = tmd.partitions[p].leader
        const resp = await consumer.fetch({
          node: leader,
          maxWaitTime: 200,
          topics: [{
            topicId: tmd.id,
            partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: next[p], lastFetchedEpoch: -1, partitionMaxBytes: 1048576 }]
          }]
        })
        for (const t of resp.responses) {
          for (const pr of t.partitions) {
            for (const b of pr.records || []) {
              for (const r of b.records) {
                const offset = b.firstOffset + BigInt(r.offsetDelta)
                if (offset < next[p]) continue // a batch that starts before the fetch offset
                emit({
                  event: 'record',
                  partition: pr.partitionIndex,
                  offset: Number(offset),
                  key: str(r.key),
                  value: str(r.value),
                  headers: r.headers.map(([k, v]) => [str(k), str(v)]),
                  timestamp: Number(b.firstTimestamp + r.timestampDelta),
                  batch: {
                    base_offset: Number(b.firstOffset),
                    producer_id: Number(b.producerId),
                    producer_epoch: b.producerEpoch,
                    base_sequence: b.firstSequence,
                    compression: b.attributes & 7,
                    magic: b.magic,
                    leader_epoch: b.partitionLeaderEpoch
                  }
                })
                next[p] = offset + 1n
                got++
              }
            }
            done[p] = pr.errorCode === 0 && next[p] >= pr.highWatermark
            last[p] = {
              event: 'fetch',
              partition: pr.partitionIndex,
              high_watermark: Number(pr.highWatermark),
              log_start_offset: Number(pr.logStartOffset),
              error_code: pr.errorCode,
              next_offset: Number(next[p])
            }
          }
        }
      }
    }
    for (const l of last) if (l) emit(l)
    emit({ event: 'read-done', records: got, expected: expect })
  } finally {
    await consumer.close()
  }
  await flushStdout()
})
