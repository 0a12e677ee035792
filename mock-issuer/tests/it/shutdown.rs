//! Graceful shutdown: a request in flight when shutdown starts still gets its answer, new
//! connections are refused from the moment shutdown starts, idle keep-alive connections do not
//! hold it up, and the port can be bound again as soon as `shutdown().await` returns.

use std::time::Duration;

use oidc_forge::MockIssuer;
use oidc_forge::internals::SHUTDOWN_GRACE;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};

use crate::support::{http, start};

/// Waits until the scripted fault has fired, i.e. the slow request is inside the issuer.
async fn until_in_flight(issuer: &MockIssuer) {
    for _ in 0..2_000 {
        if issuer.faults().list().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the slow request never reached the issuer");
}

#[tokio::test]
async fn an_in_flight_request_finishes_new_connections_are_refused_and_the_port_is_free() {
    let h = start().await;
    let addr = h.issuer.local_addr();
    h.issuer
        .faults()
        .discovery()
        .delay(Duration::from_millis(1500))
        .once()
        .unwrap();
    let url = h.url("/.well-known/openid-configuration");
    let slow = tokio::spawn(async move { http().get(url).send().await });
    until_in_flight(&h.issuer).await;

    let stopping = tokio::spawn(h.issuer.shutdown());
    // The listener closes at once: connecting is refused while the slow request still runs.
    let mut refused = false;
    for _ in 0..1_000 {
        match TcpStream::connect(addr).await {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    assert!(
        refused,
        "new connections must be refused once shutdown starts"
    );

    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), StatusCode::OK);
    let discovery: serde_json::Value = response.json().await.unwrap();
    assert!(discovery["issuer"].is_string(), "{discovery}");

    stopping.await.unwrap();
    // Released: the same port binds again, plainly and as a new issuer.
    drop(
        TcpListener::bind(addr)
            .await
            .expect("the port is free after shutdown"),
    );
    let again = MockIssuer::builder()
        .bind(addr)
        .start()
        .await
        .expect("rebinds");
    let answer = http()
        .get(again.discovery_url())
        .send()
        .await
        .expect("the new issuer answers");
    assert_eq!(answer.status(), StatusCode::OK);
    again.shutdown().await;
}

#[tokio::test]
async fn idle_keep_alive_connections_do_not_hold_shutdown_up() {
    let h = start().await;
    let addr = h.issuer.local_addr();
    // reqwest keeps this connection open in its pool after the answer.
    let answer = h
        .http
        .get(h.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let _ = answer.bytes().await.unwrap();
    // Shutdown closes idle connections instead of waiting out the grace period.
    tokio::time::timeout(SHUTDOWN_GRACE / 2, h.issuer.shutdown())
        .await
        .expect("shutdown does not wait for idle connections");
    drop(TcpListener::bind(addr).await.expect("the port is free"));
    // The pooled connection is closed: the next request fails instead of hanging.
    assert!(
        h.http
            .get(format!("http://{addr}/.well-known/jwks.json"))
            .send()
            .await
            .is_err()
    );
}

/// `server::run`, for a caller with its own listener and state: it serves until its shutdown
/// future completes, then returns.
#[tokio::test]
async fn run_serves_a_state_on_a_listener_until_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("http://{addr}");
    let state = MockIssuer::builder().build_state(&issuer).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(oidc_forge::internals::run(listener, state, async {
        let _ = stopped.await;
    }));
    let discovery = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    let document: serde_json::Value = discovery.json().await.unwrap();
    assert_eq!(document["issuer"], issuer.as_str());
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("run returns after shutdown")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}
