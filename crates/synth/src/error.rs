use thiserror::Error;

#[derive(Debug, Error)]
pub enum SynthError {
    #[error("invalid settings: {0}")]
    Settings(String),
    #[error("writing JSON lines: {0}")]
    Io(#[from] std::io::Error),
    #[error("serialising a record: {0}")]
    Json(#[from] serde_json::Error),
}
