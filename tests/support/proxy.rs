//! A TCP proxy that can cut or stall the connection to a store, as a network would.

/// A TCP proxy on loopback in front of `upstream`, that a test can cut (every connection
/// dropped, new ones refused, as when a database server goes away), stall (a network
/// partition: connections stay up and nothing gets through) and restore.
#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    upstream: std::net::SocketAddr,
    running: Option<tokio::task::JoinHandle<()>>,
    flowing: tokio::sync::watch::Sender<bool>,
}

impl TcpProxy {
    /// A proxy to `upstream`, not yet accepting (as a server that is down at start).
    pub fn new(upstream: std::net::SocketAddr) -> Self {
        let port = crate::servers::unused_port();
        Self {
            port,
            upstream,
            running: None,
            flowing: tokio::sync::watch::Sender::new(true),
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Accepts and forwards connections, and delivers what a stall held back.
    pub async fn restore(&mut self) {
        self.flowing.send_replace(true);
        if self.running.is_some() {
            return;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the proxy port");
        let (upstream, flowing) = (self.upstream, self.flowing.clone());
        self.running = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let flowing = flowing.subscribe();
                connections.spawn(async move {
                    if let Ok(server) = tokio::net::TcpStream::connect(upstream).await {
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        let _ = tokio::join!(
                            pipe(client_read, server_write, flowing.clone()),
                            pipe(server_read, client_write, flowing),
                        );
                    }
                });
            }
        }));
    }

    /// Lets nothing through, either way, until [`restore`](Self::restore), and loses
    /// nothing: like TCP across a partitioned network, bytes arrive late or not at all
    /// if a side gives up on the connection first.
    pub fn stall(&mut self) {
        self.flowing.send_replace(false);
    }

    /// Drops every connection and refuses new ones.
    pub async fn cut(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            let _ = running.await; // the listener and every connection (JoinSet) drop here
        }
    }
}

/// Copies `from` to `to`, holding bytes while the proxy is stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await?;
        flowing
            .wait_for(|flowing| *flowing)
            .await
            .map_err(std::io::Error::other)?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
    }
}
