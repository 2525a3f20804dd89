//! The key browser's page in a real browser: Debian's headless chromium over
//! WebDriver, on a `kvhost ui` serving a SQLite, a Redis and a memory store.
//! What the page did is checked in the stores through the library.

use std::time::Duration;

use kvhost::Expiry;
use kvhost_tests::browser::Chrome;
use kvhost_tests::ui::{REDIS, SQLITE, Stores, Ui};
use serde_json::json;

const JSON: &str = r#"{"name":"kvhost","stores":[1,2],"nested":{"ok":true}}"#;
const BINARY: [u8; 6] = [0x00, 0xff, 0x10, 0x80, 0x41, 0x0a];

/// The number of keys the page lists.
async fn listed(chrome: &Chrome) -> u64 {
    chrome.script("return document.querySelectorAll('#keys button.key').length", vec![]).await.as_u64().unwrap()
}

async fn open_store(chrome: &Chrome, id: &str) {
    chrome.click(&format!("#stores tr[data-id=\"{id}\"]")).await;
    chrome.wait_text("#store-name", id).await;
}

async fn filter(chrome: &Chrome, prefix: &str) {
    chrome.fill("#prefix", prefix).await;
    chrome.click("#apply").await;
}

async fn show_key(chrome: &Chrome, key: &str) {
    let css = format!("#keys button.key[data-key=\"{}\"]", key.replace('\\', "\\\\").replace('"', "\\\""));
    chrome.click(&css).await;
    chrome.wait_text("#value-key", key).await;
}

#[test]
fn browsing_paging_filtering_and_value_views_in_chromium() {
    let stores = Stores::start();
    stores.block_on(async {
        let sqlite = stores.bucket(SQLITE);
        let items: Vec<(String, Vec<u8>)> =
            (0..2500).map(|i| (format!("item:{i:04}"), format!("v{i}").into())).collect();
        for chunk in items.chunks(500) {
            sqlite.set_many(chunk, None).await.unwrap();
        }
        sqlite.set("json:config", JSON, None).await.unwrap();
        sqlite.set("bin:blob", BINARY.to_vec(), Some(Duration::from_secs(7200))).await.unwrap();
        stores.bucket(REDIS).set("session:1", b"hello redis", None).await.unwrap();

        let ui = Ui::start(&stores, &[]);
        let chrome = Chrome::start().await;
        chrome.session.goto(&ui.printed).unwrap();
        chrome.wait_text("#stores tbody", SQLITE).await;
        let stores_text = chrome.text("#stores tbody").await;
        assert!(stores_text.contains(REDIS) && stores_text.contains("ui:scratch"), "{stores_text}");
        // The token left the address bar, and the tab kept it.
        let url = chrome.session.current_url().unwrap();
        assert!(!url.contains("token"), "{url}");
        let kept = chrome.script("return sessionStorage.getItem('kvhost-ui-token')", vec![]).await;
        assert_eq!(kept, json!(kvhost_tests::ui::TOKEN));

        // 2,502 keys, 200 a page: "More" follows the store's cursor.
        open_store(&chrome, SQLITE).await;
        chrome.wait_text("#shown", "200 keys shown, more follow").await;
        let mut pages = 1;
        while chrome.element("#more").await.is_displayed().unwrap() {
            let before = listed(&chrome).await;
            chrome.click("#more").await;
            chrome.eventually("the next page", || async { (listed(&chrome).await > before).then_some(()) }).await;
            pages += 1;
        }
        assert_eq!(pages, 13);
        assert_eq!(listed(&chrome).await, 2502);
        assert_eq!(chrome.text("#shown").await, "2,502 keys");

        filter(&chrome, "item:24").await;
        chrome.wait_exact("#shown", "100 keys").await;
        assert_eq!(listed(&chrome).await, 100);

        filter(&chrome, "json").await;
        chrome.wait_exact("#shown", "1 key").await;
        show_key(&chrome, "json:config").await;
        let pretty = chrome.wait_text("#value", "\"name\": \"kvhost\"").await;
        assert!(pretty.contains("{\n  \"name\": \"kvhost\",\n  \"stores\": [\n    1,"), "{pretty}");
        assert_eq!(chrome.text("#value-size").await, format!("{} bytes", JSON.len()));
        assert_eq!(chrome.text("#value-ttl").await, "never expires");

        // Grouped by ':' into a tree of the first page (the value stays shown).
        filter(&chrome, "").await;
        chrome.wait_text("#shown", "200 keys shown").await;
        chrome.element("#separator").await.select_by_value(":").unwrap();
        let groups = chrome.wait_text("#keys", "item: (199)").await;
        assert!(groups.contains("bin: (1)"), "{groups}");
        chrome.click("#keys > ul > li:nth-child(2) summary").await;
        chrome.wait_text("#keys", "0198").await;
        if let Ok(path) = std::env::var("KVHOST_UI_SCREENSHOT") {
            std::fs::write(&path, chrome.session.screenshot().unwrap()).unwrap();
        }
        chrome.element("#separator").await.select_by_value("").unwrap();

        filter(&chrome, "bin").await;
        chrome.wait_exact("#shown", "1 key").await;
        show_key(&chrome, "bin:blob").await;
        let hex = chrome.wait_text("#value", "00000000").await;
        assert_eq!(hex, format!("00000000  {:<47}  ....A.", "00 ff 10 80 41 0a"));
        let ttl = chrome.text("#value-ttl").await;
        assert!(ttl.starts_with("expires in 1h 59m") || ttl == "expires in 2h", "{ttl}");
        chrome.click("#views button[data-view=\"text\"]").await;
        chrome.wait_text("#value-note", "Not UTF-8").await;

        open_store(&chrome, REDIS).await;
        chrome.wait_text("#live", "every change to this store").await;
        show_key(&chrome, "session:1").await;
        assert_eq!(chrome.wait_text("#value", "hello redis").await, "hello redis");
        chrome.close().await;
    });
}

#[test]
fn writes_from_the_page_reach_the_store_and_other_writers_show_up_live() {
    let stores = Stores::start();
    stores.block_on(async {
        let (sqlite, redis) = (stores.bucket(SQLITE), stores.bucket(REDIS));
        let doomed: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("tmp:{i}"), b"x".to_vec())).collect();
        sqlite.set_many(&doomed, None).await.unwrap();
        let ui = Ui::start(&stores, &[]);
        let chrome = Chrome::start().await;
        chrome.session.goto(&ui.printed).unwrap();
        open_store(&chrome, SQLITE).await;
        chrome.wait_text("#shown", "30 keys").await;

        chrome.fill("#set-key", "note:1").await;
        chrome.fill("#set-value", "hello from the page").await;
        chrome.fill("#set-ttl", "3600").await;
        chrome.click("#set-submit").await;
        chrome.wait_text("#status", "set \"note:1\"").await;
        assert_eq!(sqlite.get("note:1").await.unwrap().as_deref(), Some(&b"hello from the page"[..]));
        match sqlite.expiry("note:1").await.unwrap() {
            Some(Expiry::In(left)) => assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3000)),
            other => panic!("note:1 should expire within the hour: {other:?}"),
        }
        chrome.wait_text("#keys", "note:1").await;
        chrome.wait_text("#value-ttl", "expires in").await;

        chrome.click("#delete").await;
        chrome.wait_text("#status", "deleted \"note:1\"").await;
        assert_eq!(sqlite.get("note:1").await.unwrap(), None);
        chrome.eventually("note:1 gone from the list", || async { (listed(&chrome).await == 30).then_some(()) }).await;

        filter(&chrome, "tmp:").await;
        chrome.wait_exact("#shown", "30 keys").await;
        chrome.click("#clear").await;
        let asked = chrome.wait_text("#confirm-text", "Delete 30 keys").await;
        assert_eq!(asked, "Delete 30 keys starting with \"tmp:\" from ui:files? This cannot be undone.");
        chrome.click("#confirm-yes").await;
        chrome.wait_text("#status", "deleted 30 keys").await;
        assert!(sqlite.list("tmp:", None, 0).await.unwrap().keys.is_empty());

        // Another process (this test) writes to the Redis store: the page,
        // not reloaded (its marker stays), shows it.
        open_store(&chrome, REDIS).await;
        chrome.wait_text("#live", "every change").await;
        chrome.wait_text("#stream", "watching ui:cache").await;
        chrome.script("window.notReloaded = true", vec![]).await;
        redis.set("fresh:key", b"from elsewhere", None).await.unwrap();
        chrome.wait_text("#keys", "fresh:key").await;
        chrome.wait_text("#changes", "set \"fresh:key\"").await;
        redis.delete("fresh:key").await.unwrap();
        chrome.wait_text("#changes", "delete \"fresh:key\"").await;
        chrome.eventually("fresh:key gone", || async { (listed(&chrome).await == 0).then_some(()) }).await;
        assert_eq!(chrome.script("return window.notReloaded === true", vec![]).await, json!(true));
        chrome.close().await;
    });
}

#[test]
fn keys_and_values_that_look_like_markup_are_shown_as_text() {
    let stores = Stores::start();
    let key = "<img src=x onerror=alert(1)>";
    let value = "<b>bold</b><script>alert(2)</script>";
    stores.block_on(async {
        stores.bucket(SQLITE).set(key, value, None).await.unwrap();
        let ui = Ui::start(&stores, &[]);
        let chrome = Chrome::start().await;
        chrome.session.goto(&ui.printed).unwrap();
        open_store(&chrome, SQLITE).await;
        chrome.wait_exact("#shown", "1 key").await;
        assert_eq!(chrome.text("#keys button.key").await, key);
        show_key(&chrome, key).await;
        assert_eq!(chrome.wait_text("#value", "bold").await, value);
        let made =
            chrome.script("return document.querySelectorAll('img, b, #keys script, #value *').length", vec![]).await;
        assert_eq!(made, json!(0), "a key or value became markup");
        assert!(chrome.session.alert_text().is_err(), "an alert opened");
        chrome.close().await;
    });
}
