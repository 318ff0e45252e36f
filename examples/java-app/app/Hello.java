// Run as a single source file (java Hello.java): no build step needed.
public class Hello {
    public static void main(String[] args) {
        System.out.println("java-app: hello from Java " + Runtime.version().feature() + " as " + System.getProperty("user.name", "?") + " in " + System.getProperty("user.dir"));
    }
}
