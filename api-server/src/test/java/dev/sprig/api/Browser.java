package dev.sprig.api;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's chromium, headless, driven through its chromedriver: the console as an operator's browser
 * sees it. Every page it shows is kept as a screenshot, and all of a test's are written to
 * {@code target/console-screenshots/<test>/} when the test fails ({@link #writeScreenshots}).
 */
final class Browser implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private final ChromeDriver driver;
    private final String base;
    private final List<Shot> shots = new ArrayList<>();

    private record Shot(String name, byte[] png) {}

    Browser(int port) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new AssertionError("the console's browser tests need Debian's chromium and its driver:"
                    + " apt-get install chromium chromium-driver");
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--window-size=1280,1024");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort()
                .build();
        this.driver = new ChromeDriver(service, options);
        this.base = "http://127.0.0.1:" + port;
    }

    /** Opens a console path and keeps a screenshot of what it shows. */
    Browser open(String path) {
        driver.get(base + path);
        return shot(path);
    }

    /** Keeps a screenshot of the page as it is now, named after {@code what}. */
    Browser shot(String what) {
        shots.add(new Shot(what, driver.getScreenshotAs(OutputType.BYTES)));
        return this;
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /** Types into the named field of the form {@code formCss} and submits it; keeps the page it leads to. */
    Browser submit(String formCss, String... namesAndValues) {
        WebElement form = find(formCss);
        for (int i = 0; i < namesAndValues.length; i += 2) {
            WebElement field = form.findElement(By.name(namesAndValues[i]));
            field.clear();
            field.sendKeys(namesAndValues[i + 1]);
        }
        form.findElement(By.cssSelector("button[type=submit]")).click();
        return shot("after " + formCss);
    }

    Browser click(String css) {
        find(css).click();
        return shot("after clicking " + css);
    }

    /**
     * Waits until {@code condition} holds. An element that htmx swapped out while the condition read it
     * is read again on the next try, not an error.
     */
    <T> T await(Duration within, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, within)
                .ignoring(StaleElementReferenceException.class)
                .until(condition);
    }

    /** The text of the element {@code css} finds now; found again if htmx swaps it meanwhile. */
    String text(String css) {
        return await(Duration.ofSeconds(5), page -> find(css).getText());
    }

    /** An attribute of the element {@code css} finds now (null if it has none); found again if swapped. */
    String attribute(String css, String name) {
        return await(Duration.ofSeconds(5), page -> {
            String value = find(css).getAttribute(name);
            return value == null ? "" : value;
        });
    }

    String url() {
        return driver.getCurrentUrl();
    }

    Object script(String javascript) {
        return driver.executeScript(javascript);
    }

    void signOutAll() {
        driver.manage().deleteAllCookies();
        shots.clear();
    }

    @Override
    public void close() {
        driver.quit();
    }

    /** Writes a test's screenshots: one per page it saw, and the page it ended on. */
    void writeScreenshots(String test) {
        Path dir = Path.of("target", "console-screenshots", test.replaceAll("[^A-Za-z0-9]", ""));
        try {
            shot("last page");
        } catch (RuntimeException browserGone) {
            // the screenshots taken so far are still worth writing
        }
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < shots.size(); i++) {
                String name =
                        String.format("%02d-%s.png", i + 1, shots.get(i).name().replaceAll("[^A-Za-z0-9]+", "-"));
                Files.write(dir.resolve(name), shots.get(i).png());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
