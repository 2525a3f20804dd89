//! The few W3C WebDriver commands the key browser's tests send to
//! chromedriver, as JSON over HTTP with the plain client the other tests use.
//!
//! A WebDriver client crate (fantoccini) brought a second feature set of
//! hyper-util, syn and ICU into the workspace, so that building `kvhost`
//! alone (`cargo install`, the tests' `cargo build -p kvhost`) rebuilt most
//! of the tree; these dozen requests need none of it.

use serde_json::{Value, json};

/// The key W3C WebDriver gives an element's ID under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An error chromedriver answered with: its `error` code and message.
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

pub type Result<T> = std::result::Result<T, WebDriverError>;

/// One WebDriver session.
pub struct Session {
    agent: ureq::Agent,
    /// `http://127.0.0.1:PORT/session/ID`.
    url: String,
}

/// An element of the page, by the ID the session gave it.
pub struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Session {
    /// Open a session on the driver at `driver` (`http://HOST:PORT`).
    pub fn new(driver: &str, capabilities: Value) -> Result<Self> {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let opened = send(
            &agent,
            "POST",
            &format!("{driver}/session"),
            Some(json!({ "capabilities": { "alwaysMatch": capabilities } })),
        )?;
        let id = opened["sessionId"].as_str().unwrap_or_default();
        Ok(Self { url: format!("{driver}/session/{id}"), agent })
    }

    /// `http://HOST:PORT/session/ID`: a `DELETE` to it ends the session.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        send(&self.agent, method, &format!("{}{path}", self.url), body)
    }

    pub fn goto(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(json!({ "url": url }))).map(drop)
    }

    pub fn current_url(&self) -> Result<String> {
        Ok(self.call("GET", "/url", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching the CSS selector `css`.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let found = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css })))?;
        let id = found[ELEMENT].as_str().unwrap_or_default().to_owned();
        Ok(Element { session: self, id })
    }

    /// The result of `script` run in the page with `args` as `arguments`.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        use base64::Engine as _;
        let encoded = self.call("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap_or_default());
        png.map_err(|e| WebDriverError { error: "bad screenshot".into(), message: e.to_string() })
    }

    /// The text of the open alert; an error when none is open.
    pub fn alert_text(&self) -> Result<String> {
        Ok(self.call("GET", "/alert/text", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// End the session (chromedriver then quits its browser).
    pub fn close(&self) -> Result<()> {
        self.call("DELETE", "", None).map(drop)
    }
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value> {
        self.session.call(method, &format!("/element/{}{what}", self.id), body)
    }

    pub fn text(&self) -> Result<String> {
        Ok(self.call("GET", "/text", None)?.as_str().unwrap_or_default().to_owned())
    }

    pub fn is_displayed(&self) -> Result<bool> {
        Ok(self.call("GET", "/displayed", None)?.as_bool().unwrap_or(false))
    }

    pub fn click(&self) -> Result<()> {
        self.call("POST", "/click", Some(json!({}))).map(drop)
    }

    pub fn clear(&self) -> Result<()> {
        self.call("POST", "/clear", Some(json!({}))).map(drop)
    }

    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.call("POST", "/value", Some(json!({ "text": text }))).map(drop)
    }

    /// Choose the `<option>` of this `<select>` whose value is `value`, as a
    /// user's click on it would.
    pub fn select_by_value(&self, value: &str) -> Result<()> {
        let css = format!("option[value=\"{}\"]", value.replace('\\', "\\\\").replace('"', "\\\""));
        let found = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css })))?;
        let option = Element { session: self.session, id: found[ELEMENT].as_str().unwrap_or_default().to_owned() };
        option.click()
    }
}

/// Send one command; its `value`, or the error the driver gave.
fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Result<Value> {
    let sent = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("content-type", "application/json")
            .send(body.unwrap_or_else(|| json!({})).to_string()),
    };
    let transport = |e: &dyn std::fmt::Display| WebDriverError { error: "transport".into(), message: e.to_string() };
    let mut response = sent.map_err(|e| transport(&e))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().map_err(|e| transport(&e))?;
    let reply: Value = serde_json::from_str(&text).map_err(|e| transport(&format!("{e} in {text:?}")))?;
    let value = reply.get("value").cloned().unwrap_or(Value::Null);
    if status >= 400 || value.get("error").is_some_and(Value::is_string) {
        let part = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
        return Err(WebDriverError { error: part("error"), message: part("message") });
    }
    Ok(value)
}
