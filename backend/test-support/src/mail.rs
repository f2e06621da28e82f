//! An SMTP sink for tests: a small server speaking the real protocol
//! (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on 127.0.0.1, keeping every
//! message it accepts, decoded (`mail-parser`). It can be told to act down
//! (every session answered `421` and closed) or to refuse messages with a
//! temporary error, and to stall, so tests see what the worker does when
//! the mail server is away.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How the sink answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkMode {
    /// Accepts every message.
    Up,
    /// Answers every new session with `421` and closes it.
    Down,
    /// Accepts the session but answers each message's DATA with `451`.
    Deferring,
    /// Accepts the connection and never answers (a hung server).
    Silent,
    /// Accepts every message, one second after its data ended.
    Slow,
}

/// One message as the sink received it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The envelope recipients (RCPT TO).
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `Message-ID`, without angle brackets.
    pub message_id: String,
    /// The message exactly as sent (headers and MIME body).
    pub raw: String,
    pub received_at: Instant,
}

impl Mail {
    /// The first link in the plain text starting with `prefix` (e.g.
    /// `"http://shop.test/verify-email?token="`).
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let link: String = self.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '"' && *c != ')')
            .collect();
        Some(link)
    }

    /// The value of query parameter `name` in the first link starting
    /// with `prefix`.
    pub fn link_param(&self, prefix: &str, name: &str) -> Option<String> {
        let link = self.link(prefix)?;
        let query = link.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// A header's value (first occurrence), from the raw message.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mail_parser::MessageParser::default().parse(self.raw.as_bytes())?;
        parsed.header_raw(name).map(|value| value.trim().to_owned())
    }
}

struct State {
    mode: SinkMode,
    messages: Vec<Mail>,
    sessions: usize,
}

/// A running sink; stops when dropped.
pub struct MailSink {
    port: u16,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MailSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let state = Arc::new(Mutex::new(State {
            mode: SinkMode::Up,
            messages: Vec::new(),
            sessions: 0,
        }));
        let arrived = Arc::new(Notify::new());
        let task = tokio::spawn(accept(listener, state.clone(), arrived.clone()));
        Self {
            port,
            state,
            arrived,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: SinkMode) {
        self.state.lock().expect("sink state").mode = mode;
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Mail> {
        self.state.lock().expect("sink state").messages.clone()
    }

    /// Messages received for `recipient` (case-insensitive).
    pub fn to(&self, recipient: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|to| to.eq_ignore_ascii_case(recipient)))
            .collect()
    }

    /// SMTP sessions opened so far.
    pub fn sessions(&self) -> usize {
        self.state.lock().expect("sink state").sessions
    }

    /// Waits (up to 10 s) until `count` messages have arrived in all;
    /// panics with what did arrive otherwise.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        self.wait_until(
            |messages| messages.len() >= count,
            &format!("{count} message(s)"),
        )
        .await
    }

    /// Waits (up to 10 s) until `count` messages for `recipient` arrived.
    pub async fn wait_for_to(&self, recipient: &str, count: usize) -> Vec<Mail> {
        self.wait_until(
            |messages| {
                messages
                    .iter()
                    .filter(|mail| mail.to.iter().any(|to| to.eq_ignore_ascii_case(recipient)))
                    .count()
                    >= count
            },
            &format!("{count} message(s) to {recipient}"),
        )
        .await;
        self.to(recipient)
    }

    /// Lets `time` pass and returns what arrived meanwhile in all: for
    /// "nothing more is sent" checks.
    pub async fn settle(&self, time: Duration) -> Vec<Mail> {
        tokio::time::sleep(time).await;
        self.messages()
    }

    async fn wait_until(&self, done: impl Fn(&[Mail]) -> bool, what: &str) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            let messages = self.messages();
            if done(&messages) {
                return messages;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let seen: Vec<(Vec<String>, String)> = messages
                    .iter()
                    .map(|mail| (mail.to.clone(), mail.subject.clone()))
                    .collect();
                panic!("the SMTP sink did not get {what} within 10 s; it got {seen:?}");
            }
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }
}

async fn accept(listener: TcpListener, state: Arc<Mutex<State>>, arrived: Arc<Notify>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(session(stream, state.clone(), arrived.clone()));
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>, arrived: Arc<Notify>) {
    let mode = {
        let mut state = state.lock().expect("sink state");
        state.sessions += 1;
        state.mode
    };
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    match mode {
        SinkMode::Down => {
            let _ = write.write_all(b"421 sink is down\r\n").await;
            return;
        }
        SinkMode::Silent => {
            // Hold the connection open, say nothing.
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut sink).await;
            return;
        }
        SinkMode::Up | SinkMode::Deferring | SinkMode::Slow => {}
    }
    if write.write_all(b"220 sink ESMTP ready\r\n").await.is_err() {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut raw = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321 4.5.2).
                raw.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mode = state.lock().expect("sink state").mode;
            if mode == SinkMode::Slow {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if mode == SinkMode::Deferring {
                b"451 try again later\r\n"
            } else {
                let mail = decode(&from, &to, raw);
                state.lock().expect("sink state").messages.push(mail);
                arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 command not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn address(argument: &str) -> String {
    let argument = argument.trim();
    let inner = argument
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .map_or(argument, |(address, _)| address);
    inner.to_owned()
}

fn decode(from: &str, to: &[String], raw: String) -> Mail {
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes());
    let (subject, text, html, message_id) =
        parsed.as_ref().map_or_else(Default::default, |message| {
            (
                message.subject().unwrap_or_default().to_owned(),
                message
                    .body_text(0)
                    .map(|text| text.into_owned())
                    .unwrap_or_default(),
                message
                    .body_html(0)
                    .map(|html| html.into_owned())
                    .unwrap_or_default(),
                message.message_id().unwrap_or_default().to_owned(),
            )
        });
    Mail {
        from: from.to_owned(),
        to: to.to_vec(),
        subject,
        text,
        html,
        message_id,
        raw,
        received_at: Instant::now(),
    }
}
