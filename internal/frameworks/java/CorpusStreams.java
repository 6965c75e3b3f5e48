import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams members of lagwatch's framework corpus: one KafkaStreams
 * instance per argument after the bootstrap address, all in one JVM (one
 * JVM is what a 2-core test machine affords).
 *
 * Usage: CorpusStreams BOOTSTRAP STATE_DIR APP...
 * where APP is applicationId,groupProtocol,processingGuarantee,input,output,commitIntervalMs
 * (0: Kafka Streams' default).
 *
 * Each app re-keys its input by value and counts per key: selectKey makes
 * groupByKey write through a repartition topic, which Kafka Streams creates
 * with retention.ms=-1 and purges itself with DeleteRecords after each
 * commit.
 */
public final class CorpusStreams {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: CorpusStreams BOOTSTRAP STATE_DIR APP...");
            System.exit(2);
        }
        List<KafkaStreams> apps = new ArrayList<>();
        CountDownLatch stop = new CountDownLatch(1);
        for (int i = 2; i < args.length; i++) {
            String[] f = args[i].split(",");
            if (f.length != 6) {
                System.err.println("bad app spec " + args[i] + ": want id,protocol,guarantee,input,output,commitMs");
                System.exit(2);
            }
            String id = f[0];
            Properties p = new Properties();
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, id);
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
            p.put(StreamsConfig.STATE_DIR_CONFIG, args[1] + "/" + id);
            p.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, f[1]);
            p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, f[2]);
            p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
            p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());
            p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
            if (!f[5].equals("0")) {
                p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(f[5]));
            }

            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream(f[3])
                .selectKey((k, v) -> v)
                .groupByKey()
                .count()
                .toStream()
                .to(f[4], Produced.with(Serdes.String(), Serdes.Long()));
            KafkaStreams app = new KafkaStreams(b.build(), p);
            app.setStateListener((now, before) -> {
                System.out.println("state " + id + " " + now);
                System.out.flush();
            });
            app.setUncaughtExceptionHandler(e -> {
                System.err.println("app " + id + " failed: " + e);
                e.printStackTrace();
                return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
            apps.add(app);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (KafkaStreams app : apps) {
                app.close(Duration.ofSeconds(5));
            }
            stop.countDown();
        }));
        for (KafkaStreams app : apps) {
            app.start();
        }
        stop.await();
    }
}
