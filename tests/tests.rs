//! Every integration test, in one binary: a module per area (the agent's command line and
//! delivery, the fixtures and the parser's differential test, the sinks, and serve's ingest,
//! streams, pages, alerts, outages and public face), and `common`, the harness they share. One
//! link instead of one per file, and one process that runs every test in parallel.

mod common;

mod cli;
mod delivery;
mod differential;
mod fixtures;
mod hostile;
mod operators;
mod properties;
mod pushgateway;
mod serve;
mod serve_alerts;
mod serve_feed;
mod serve_network;
mod serve_outage;
mod serve_page;
mod serve_proxy;
mod serve_public;
mod serve_streams;
mod serve_validators;
mod telemetry;
mod validators;
