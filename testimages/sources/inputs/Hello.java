package salvor.demo;

/** A tiny program whose only job is to end up inside a jar. */
public class Hello {
    public static void main(String[] args) {
        String who = args.length > 0 ? args[0] : "carver";
        System.out.println("Hello, " + who + ": this class was packed by jar.");
        for (int i = 0; i < 3; i++) {
            System.out.println("  sector " + (i * 512));
        }
    }
}
