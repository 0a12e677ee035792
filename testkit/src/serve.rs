//! An app under test on a random local port, in the background of the test's runtime.

use tokio::net::TcpListener;

/// Binds 127.0.0.1 on a port the OS picks: the listener and its base URL (`http://127.0.0.1:N`).
pub async fn bind() -> std::io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, format!("http://{addr}")))
}

/// Serves `app` on `listener` in the background, for as long as the runtime lives.
pub fn serve(listener: TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}
