package gregor.tests;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Test driver around Kafka's Java client. Every result is one JSON object per line on stdout;
 * client logging goes to stderr. Exit code 0 on success, 1 on a client error, 2 on bad usage,
 * 3 when consume timed out before --count records.
 *
 * <pre>
 * create-topic     --bootstrap B --topic T [--partitions N] [--replication-factor R] [--topic-config k=v]... [--if-not-exists]
 * delete-topic     --bootstrap B --topic T
 * produce          --bootstrap B --topic T --count N [--acks all|1|0] [--compression none|gzip|snappy|lz4|zstd]
 *                  [--key-prefix K] [--value-prefix V] [--value-size BYTES] [--headers] [--idempotent true|false]
 *                  [--partition P] [--linger-ms MS] [--key-mod M (key = K + i % M)]
 * consume          --bootstrap B --topic T --count N [--timeout-ms M] [--from-beginning]
 *                  [--partition P] [--offset O] [--group G] [--isolation-level read_committed|read_uncommitted]
 *                  [--end-offsets (then prints {"end_offsets":{P:O},"beginning_offsets":{P:O}})]
 * group-member     --bootstrap B (--topic T | --pattern JAVA_REGEX | --subscription-pattern RE2J_REGEX) --group G
 *                  [--timeout-ms M]   (a long-running group member, see groupMember())
 * list-topics      --bootstrap B [--internal]
 * describe-configs --bootstrap B (--topic T | --broker ID)
 * batch            --step "SUBCOMMAND OPTIONS..." [--step ...]   (several subcommands in one JVM, see batch())
 * common:          [--config key=value]... (any client config)  [--timeout-ms M] (default 30000)
 * </pre>
 */
public final class JavaClient {

    public static void main(String[] argv) {
        if (argv.length == 0) {
            usage("missing subcommand");
        }
        Opts o = Opts.parse(argv);
        int rc;
        try {
            rc = "batch".equals(o.cmd) ? batch(o) : runOne(o);
        } catch (UsageException e) {
            usage(e.getMessage());
            return;
        }
        System.out.flush();
        System.exit(rc);
    }

    /** Runs one subcommand; a client error prints {"error","message"} and returns 1. */
    static int runOne(Opts o) {
        try {
            switch (o.cmd) {
                case "create-topic": return createTopic(o);
                case "delete-topic": return deleteTopic(o);
                case "produce": return produce(o);
                case "consume": return consume(o);
                case "group-member": return groupMember(o);
                case "list-topics": return listTopics(o);
                case "describe-configs": return describeConfigs(o);
                default: throw new UsageException("unknown subcommand " + o.cmd);
            }
        } catch (UsageException e) {
            throw e;
        } catch (Exception e) {
            Throwable t = (e instanceof ExecutionException && e.getCause() != null) ? e.getCause() : e;
            Map<String, Object> err = new LinkedHashMap<>();
            err.put("error", t.getClass().getName());
            err.put("message", String.valueOf(t.getMessage()));
            out(err);
            t.printStackTrace(System.err);
            return 1;
        }
    }

    /**
     * batch --step "SUBCOMMAND --opt v ..." [--step ...]: runs several subcommands in one JVM
     * (JVM start-up is slow). Each step's arguments are split on whitespace. Around each step's
     * output it prints {"step":i,"begin":"SUBCOMMAND"} and {"step":i,"rc":RC}; a failing step
     * does not stop the batch. Exit code: the first non-zero step rc, else 0.
     */
    static int batch(Opts o) {
        List<String> steps = o.values.getOrDefault("step", List.of());
        if (steps.isEmpty()) {
            throw new UsageException("batch needs at least one --step");
        }
        int rc = 0;
        for (int i = 0; i < steps.size(); i++) {
            Opts so = Opts.parse(steps.get(i).trim().split("\\s+"));
            out(map("step", i, "begin", so.cmd));
            int r = runOne(so);
            out(map("step", i, "rc", r));
            System.out.flush();
            if (rc == 0) {
                rc = r;
            }
        }
        return rc;
    }

    // ---------------------------------------------------------------- subcommands

    static int createTopic(Opts o) throws Exception {
        String topic = o.req("topic");
        int partitions = o.intOpt("partitions", 1);
        short rf = (short) o.intOpt("replication-factor", 1);
        Map<String, String> configs = o.kv("topic-config");
        try (Admin admin = Admin.create(o.clientProps(new Properties()))) {
            NewTopic nt = new NewTopic(topic, partitions, rf).configs(configs);
            CreateTopicsResult r = admin.createTopics(List.of(nt));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("topic", topic);
            try {
                r.all().get(o.timeoutMs(), TimeUnit.MILLISECONDS);
                m.put("created", true);
                m.put("topic_id", String.valueOf(r.topicId(topic).get()));
                m.put("partitions", r.numPartitions(topic).get());
            } catch (ExecutionException e) {
                if (o.flag("if-not-exists") && e.getCause() instanceof TopicExistsException) {
                    m.put("created", false);
                } else {
                    throw e;
                }
            }
            out(m);
        }
        return 0;
    }

    static int deleteTopic(Opts o) throws Exception {
        String topic = o.req("topic");
        try (Admin admin = Admin.create(o.clientProps(new Properties()))) {
            admin.deleteTopics(List.of(topic)).all().get(o.timeoutMs(), TimeUnit.MILLISECONDS);
            out(map("topic", topic, "deleted", true));
        }
        return 0;
    }

    static int produce(Opts o) throws Exception {
        String topic = o.req("topic");
        int count = o.intOpt("count", 1);
        String acks = o.str("acks", "all");
        String keyPrefix = o.str("key-prefix", null);
        int keyMod = o.intOpt("key-mod", 0);
        String valuePrefix = o.str("value-prefix", "value-");
        int valueSize = o.intOpt("value-size", 0);
        boolean headers = o.flag("headers");
        Integer partition = o.has("partition") ? o.intOpt("partition", 0) : null;

        Properties p = new Properties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, acks);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, o.str("compression", "none"));
        long lingerMs = Long.parseLong(o.str("linger-ms", "5"));
        long requestTimeoutMs = Math.min(o.timeoutMs(), 30000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(lingerMs));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(requestTimeoutMs));
        // the client insists on delivery.timeout.ms >= linger.ms + request.timeout.ms
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
              String.valueOf(Math.max(o.timeoutMs(), lingerMs + requestTimeoutMs)));
        if (o.has("idempotent")) {
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, o.str("idempotent", "true"));
        } else if (!acks.equals("all") && !acks.equals("-1")) {
            // the client refuses idempotence (its default) with acks != all
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        }
        o.clientProps(p);

        List<Future<RecordMetadata>> futures = new ArrayList<>(count);
        List<String> keys = new ArrayList<>(count);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < count; i++) {
                String key = keyPrefix == null ? null : keyPrefix + (keyMod > 0 ? i % keyMod : i);
                StringBuilder value = new StringBuilder(valuePrefix).append(i);
                while (value.length() < valueSize) {
                    value.append('x');
                }
                List<Header> hs = new ArrayList<>();
                if (headers) {
                    hs.add(new RecordHeader("index", String.valueOf(i).getBytes(StandardCharsets.UTF_8)));
                    hs.add(new RecordHeader("source", "java-client".getBytes(StandardCharsets.UTF_8)));
                }
                ProducerRecord<String, String> rec =
                    new ProducerRecord<>(topic, partition, null, key, value.toString(), hs);
                futures.add(producer.send(rec));
                keys.add(key);
            }
            producer.flush();
            for (int i = 0; i < count; i++) {
                RecordMetadata md = futures.get(i).get(o.timeoutMs(), TimeUnit.MILLISECONDS);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("topic", md.topic());
                m.put("partition", md.partition());
                m.put("offset", md.hasOffset() ? md.offset() : -1L);
                m.put("key", keys.get(i));
                m.put("timestamp", md.hasTimestamp() ? md.timestamp() : -1L);
                out(m);
            }
        }
        return 0;
    }

    static int consume(Opts o) throws Exception {
        String topic = o.req("topic");
        int count = o.intOpt("count", 1);
        long deadline = System.currentTimeMillis() + o.timeoutMs();
        String group = o.str("group", null);

        Properties p = new Properties();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, o.flag("from-beginning") ? "earliest" : "latest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, o.str("isolation-level", "read_uncommitted"));
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        }
        o.clientProps(p);

        int got = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            if (group != null) {
                consumer.subscribe(List.of(topic));
            } else {
                List<TopicPartition> tps = new ArrayList<>();
                if (o.has("partition")) {
                    tps.add(new TopicPartition(topic, o.intOpt("partition", 0)));
                } else {
                    // metadata for a just-created topic may lag: poll with the deadline
                    while (tps.isEmpty()) {
                        List<PartitionInfo> parts = null;
                        try {
                            parts = consumer.partitionsFor(topic, Duration.ofMillis(remaining(deadline)));
                        } catch (org.apache.kafka.common.errors.TimeoutException e) {
                            // fall through to the deadline check
                        }
                        if (parts != null) {
                            for (PartitionInfo pi : parts) {
                                tps.add(new TopicPartition(topic, pi.partition()));
                            }
                        }
                        if (tps.isEmpty() && remaining(deadline) <= 1) {
                            System.err.println("no partitions found for topic " + topic);
                            return 3;
                        }
                    }
                }
                consumer.assign(tps);
                if (o.has("offset")) {
                    long off = Long.parseLong(o.req("offset"));
                    for (TopicPartition tp : tps) {
                        consumer.seek(tp, off);
                    }
                } else if (o.flag("from-beginning")) {
                    consumer.seekToBeginning(tps);
                } else {
                    consumer.seekToEnd(tps);
                }
            }
            while (got < count && remaining(deadline) > 0) {
                for (ConsumerRecord<String, String> r :
                         consumer.poll(Duration.ofMillis(Math.min(500, remaining(deadline))))) {
                    List<Object> hs = new ArrayList<>();
                    for (Header h : r.headers()) {
                        hs.add(List.of(h.key(), h.value() == null ? JNULL
                                                                  : new String(h.value(), StandardCharsets.UTF_8)));
                    }
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("topic", r.topic());
                    m.put("partition", r.partition());
                    m.put("offset", r.offset());
                    m.put("key", r.key());
                    m.put("value", r.value());
                    m.put("headers", hs);
                    m.put("timestamp", r.timestamp());
                    m.put("timestamp_type", r.timestampType().toString());
                    m.put("leader_epoch", r.leaderEpoch().orElse(-1));
                    out(m);
                    got++;
                }
            }
            if (group != null) {
                consumer.commitSync(Duration.ofMillis(Math.max(remaining(deadline), 5000)));
            }
            if (o.flag("end-offsets")) {
                // ListOffsets(latest) for the assigned partitions: shows records beyond --count
                Map<String, Object> ends = new LinkedHashMap<>();
                Map<String, Object> begins = new LinkedHashMap<>();
                Set<TopicPartition> asg = consumer.assignment();
                Duration t = Duration.ofMillis(Math.max(remaining(deadline), 5000));
                for (Map.Entry<TopicPartition, Long> e : consumer.endOffsets(asg, t).entrySet()) {
                    ends.put(String.valueOf(e.getKey().partition()), e.getValue());
                }
                for (Map.Entry<TopicPartition, Long> e : consumer.beginningOffsets(asg, t).entrySet()) {
                    begins.put(String.valueOf(e.getKey().partition()), e.getValue());
                }
                out(map("end_offsets", ends, "beginning_offsets", begins));
            }
        }
        System.out.flush();
        if (got < count) {
            System.err.println("timed out: received " + got + " of " + count + " records");
            return 3;
        }
        return 0;
    }

    /**
     * group-member: subscribes to --topic in --group (auto commit off) and polls until told to
     * stop, printing {"assigned":[partitions]} whenever its assignment changes and
     * {"partition":P,"offset":O,"value":V} for each record. Commands on stdin, one a line:
     * "commit" (commitSync, then prints {"committed":{P:O}}) and "stop" (commitSync, close, which
     * leaves the group, then prints {"stopped":true}). --timeout-ms bounds its life (exit code 3
     * when it runs out).
     */
    static int groupMember(Opts o) throws Exception {
        String topic = o.str("pattern", null) != null || o.str("subscription-pattern", null) != null ? o.str("topic", null) : o.req("topic");
        long deadline = System.currentTimeMillis() + o.timeoutMs();
        Properties p = new Properties();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, o.req("group"));
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        o.clientProps(p);
        java.io.BufferedReader in = new java.io.BufferedReader(
            new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            if (o.str("pattern", null) != null) {
                // Resolved by the client (classic) or sent as topic names (consumer protocol).
                consumer.subscribe(java.util.regex.Pattern.compile(o.str("pattern", null)));
            } else if (o.str("subscription-pattern", null) != null) {
                // KIP-848: the broker resolves the RE2/J expression.
                consumer.subscribe(new org.apache.kafka.clients.consumer.SubscriptionPattern(
                    o.str("subscription-pattern", null)));
            } else {
                consumer.subscribe(List.of(topic));
            }
            Set<Integer> last = null;
            Set<String> lastTps = null;
            while (remaining(deadline) > 0) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    out(map("partition", r.partition(), "offset", r.offset(), "value", r.value(), "topic", r.topic()));
                }
                Set<Integer> now = new TreeSet<>();
                Set<String> nowTps = new TreeSet<>();
                for (TopicPartition tp : consumer.assignment()) {
                    now.add(tp.partition());
                    nowTps.add(tp.topic() + ":" + tp.partition());
                }
                if (!nowTps.equals(lastTps)) {
                    last = now;
                    lastTps = nowTps;
                    out(map("assigned", new ArrayList<Object>(now), "assigned_tps", new ArrayList<Object>(nowTps)));
                }
                System.out.flush();
                while (System.in.available() > 0) {
                    String line = in.readLine();
                    if (line == null || line.trim().equals("stop")) {
                        consumer.commitSync(Duration.ofMillis(Math.max(remaining(deadline), 5000)));
                        consumer.close();
                        out(map("stopped", true));
                        return 0;
                    }
                    if (line.trim().equals("commit")) {
                        consumer.commitSync(Duration.ofMillis(Math.max(remaining(deadline), 5000)));
                        Map<String, Object> c = new LinkedHashMap<>();
                        for (Map.Entry<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> e
                                 : consumer.committed(consumer.assignment()).entrySet()) {
                            c.put(String.valueOf(e.getKey().partition()),
                                  e.getValue() == null ? JNULL : e.getValue().offset());
                        }
                        out(map("committed", c));
                    }
                }
            }
        }
        System.err.println("group-member: --timeout-ms ran out");
        return 3;
    }

    static int listTopics(Opts o) throws Exception {
        try (Admin admin = Admin.create(o.clientProps(new Properties()))) {
            Set<String> names = admin.listTopics(new ListTopicsOptions().listInternal(o.flag("internal")))
                .names().get(o.timeoutMs(), TimeUnit.MILLISECONDS);
            Map<String, TopicDescription> descs = names.isEmpty() ? Collections.emptyMap()
                : admin.describeTopics(names).allTopicNames().get(o.timeoutMs(), TimeUnit.MILLISECONDS);
            for (String name : new TreeSet<>(names)) {
                TopicDescription d = descs.get(name);
                List<Object> parts = new ArrayList<>();
                for (TopicPartitionInfo pi : d.partitions()) {
                    parts.add(map("partition", pi.partition(),
                                  "leader", pi.leader() == null ? -1 : pi.leader().id(),
                                  "replicas", ids(pi.replicas()),
                                  "isr", ids(pi.isr())));
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("topic", name);
                m.put("topic_id", String.valueOf(d.topicId()));
                m.put("internal", d.isInternal());
                m.put("partitions", parts);
                out(m);
            }
        }
        return 0;
    }

    static int describeConfigs(Opts o) throws Exception {
        ConfigResource res;
        if (o.has("topic")) {
            res = new ConfigResource(ConfigResource.Type.TOPIC, o.req("topic"));
        } else if (o.has("broker")) {
            res = new ConfigResource(ConfigResource.Type.BROKER, o.req("broker"));
        } else {
            throw new UsageException("describe-configs needs --topic T or --broker ID");
        }
        try (Admin admin = Admin.create(o.clientProps(new Properties()))) {
            Config cfg = admin.describeConfigs(List.of(res)).all()
                .get(o.timeoutMs(), TimeUnit.MILLISECONDS).get(res);
            List<ConfigEntry> entries = new ArrayList<>(cfg.entries());
            entries.sort((a, b) -> a.name().compareTo(b.name()));
            for (ConfigEntry e : entries) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", e.name());
                m.put("value", e.value());
                m.put("source", e.source().toString());
                m.put("read_only", e.isReadOnly());
                m.put("sensitive", e.isSensitive());
                m.put("type", e.type().toString());
                out(m);
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- helpers

    static long remaining(long deadline) {
        return Math.max(0, deadline - System.currentTimeMillis());
    }

    static List<Object> ids(Collection<Node> nodes) {
        List<Object> l = new ArrayList<>();
        for (Node n : nodes) {
            l.add(n.id());
        }
        return l;
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static final class UsageException extends RuntimeException {
        UsageException(String msg) {
            super(msg);
        }
    }

    static void usage(String msg) {
        System.err.println("JavaClient: " + msg);
        System.err.println("usage: JavaClient create-topic|delete-topic|produce|consume|list-topics|describe-configs|batch"
                           + " --bootstrap HOST:PORT [options]   (see JavaClient.java)");
        System.exit(2);
    }

    static final class Opts {
        String cmd;
        final Map<String, List<String>> values = new HashMap<>();

        static Opts parse(String[] argv) {
            Opts o = new Opts();
            o.cmd = argv[0];
            for (int i = 1; i < argv.length; i++) {
                String a = argv[i];
                if (!a.startsWith("--")) {
                    throw new UsageException("unexpected argument " + a);
                }
                String name = a.substring(2);
                String value = "true";
                int eq = name.indexOf('=');
                if (eq >= 0 && !name.equals("config") && !name.equals("topic-config")) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                    value = argv[++i];
                }
                o.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            }
            return o;
        }

        boolean has(String name) {
            return values.containsKey(name);
        }

        boolean flag(String name) {
            return has(name) && !"false".equals(str(name, "true"));
        }

        String str(String name, String def) {
            List<String> l = values.get(name);
            return l == null ? def : l.get(l.size() - 1);
        }

        String req(String name) {
            String v = str(name, null);
            if (v == null) {
                throw new UsageException(cmd + ": --" + name + " is required");
            }
            return v;
        }

        int intOpt(String name, int def) {
            String v = str(name, null);
            return v == null ? def : Integer.parseInt(v);
        }

        long timeoutMs() {
            return Long.parseLong(str("timeout-ms", "30000"));
        }

        Map<String, String> kv(String name) {
            Map<String, String> m = new LinkedHashMap<>();
            for (String s : values.getOrDefault(name, List.of())) {
                int eq = s.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException("--" + name + " wants key=value, got " + s);
                }
                m.put(s.substring(0, eq), s.substring(eq + 1));
            }
            return m;
        }

        /** Adds bootstrap, client id and every --config key=value to p. */
        Properties clientProps(Properties p) {
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, req("bootstrap"));
            p.put(AdminClientConfig.CLIENT_ID_CONFIG, str("client-id", "gregor-java-client"));
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs()));
            p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(timeoutMs(), 30000)));
            p.putAll(kv("config"));
            return p;
        }
    }

    // ---------------------------------------------------------------- JSON output

    static final Object JNULL = new Object();

    static void out(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        json(sb, m);
        System.out.println(sb);
    }

    @SuppressWarnings("unchecked")
    static void json(StringBuilder sb, Object v) {
        if (v == null || v == JNULL) {
            sb.append("null");
        } else if (v instanceof String) {
            quote(sb, (String) v);
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                quote(sb, e.getKey());
                sb.append(':');
                json(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Collection) {
            sb.append('[');
            boolean first = true;
            for (Object o : (Collection<Object>) v) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                json(sb, o);
            }
            sb.append(']');
        } else {
            quote(sb, v.toString());
        }
    }

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
