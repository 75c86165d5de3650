'use strict'
// Shared helpers for the Node.js test scripts driven by tests/integration/conftest.py.
// Contract: every result is one JSON object per line on stdout; diagnostics go to stderr;
// exit 0 on success, 1 on a client error, 2 on bad usage.

const { parseArgs } = require('node:util')

function args (options) {
  try {
    return parseArgs({ options, allowPositionals: false, strict: true }).values
  } catch (e) {
    process.stderr.write(`usage: ${e.message}\n`)
    process.exit(2)
  }
}

function need (values, name) {
  if (values[name] === undefined) {
    process.stderr.write(`usage: --${name} is required\n`)
    process.exit(2)
  }
  return values[name]
}

function emit (obj) {
  process.stdout.write(JSON.stringify(obj, (k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n')
}

// kafkajs logs through console by default, which would mix with the JSON on stdout.
function kafkajsLogCreator () {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
  }
}

// Exits once stdout has been written out: process.exit() alone drops
// output still queued for a pipe.
function exitAfterFlush (code) {
  process.stdout.write('', () => process.exit(code))
}

// Runs an async main; on error prints {"error","message"} and exits 1.
function run (main) {
  main().then(
    () => exitAfterFlush(0),
    (err) => {
      emit({ error: (err && err.name) || 'Error', message: String((err && err.message) || err) })
      process.stderr.write(((err && err.stack) || String(err)) + '\n')
      exitAfterFlush(1)
    }
  )
}

module.exports = { args, need, emit, kafkajsLogCreator, run }
