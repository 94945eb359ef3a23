//! The pages, drawn on the server for people; they load nothing from another host. `overview` is
//! the fleet at a glance (`/`), `detail` a machine's and a stream node's (`/machines/..`,
//! `/stream-nodes/..`), `chain` a chain's network view (`/chains/..`), `live` the news that redraws them as frames
//! arrive (`/events`), `session` signing in and out; `validators` a machine's validator view;
//! `rows` holds what they share, `chart` draws SVG and `html` escapes and lays out.

mod chain;
mod chart;
mod detail;
mod html;
mod live;
mod overview;
mod rows;
mod session;
mod validators;

pub use chain::chain;
pub use detail::{machine, stream_node};
pub use live::events;
pub use overview::root;
pub use session::{login, logout};
