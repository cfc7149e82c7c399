import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JVM that needs a heap dump: it grows its heap by LEAK_MIB_PER_SECOND until it holds
 * LEAK_TARGET_PERCENT of the maximum heap, then holds it. Below 100 % it stays up with high memory
 * (the HighMemoryUsage alert, a live jcmd dump); above 100 % it runs out of memory, writes its dump
 * to /dumps and exits (a restart, a collected dump).
 */
public class Leak {
  public static void main(String[] args) throws InterruptedException {
    double mibPerSecond = Double.parseDouble(env("LEAK_MIB_PER_SECOND", "4"));
    double targetPercent = Double.parseDouble(env("LEAK_TARGET_PERCENT", "90"));
    long maxHeap = Runtime.getRuntime().maxMemory();
    long target = (long) (maxHeap * targetPercent / 100);
    List<byte[]> held = new ArrayList<>();
    long heldBytes = 0;
    while (true) {
      if (heldBytes < target) {
        byte[] chunk = new byte[1 << 20];
        Arrays.fill(chunk, (byte) 1); // touched, so it counts in the container's working set
        held.add(chunk);
        heldBytes += chunk.length;
        if (held.size() % 16 == 0) {
          System.out.printf("holding %d MiB of %d MiB heap%n", heldBytes >> 20, maxHeap >> 20);
        }
      }
      Thread.sleep((long) (1000 / mibPerSecond));
    }
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
