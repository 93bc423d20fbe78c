//! A feed as the broker asks it: the searches of concurrent checks that wait while the feed
//! answers one are sent together, as one `Search` of all their subjects.
//!
//! A check's search is mostly fixed cost (an mTLS round trip, a SQL statement on the feed's
//! connection thread, the thread wake-ups around both); the subjects themselves cost little.
//! Like the log's group commit, a batch is whatever queued while the calls already out were
//! answered, so a lone check is sent at once, alone, and a busy broker sends fewer, larger
//! searches. Up to [`IN_FLIGHT`] calls are out at once, so that a check waits for a slow feed no
//! longer than it did unbatched, until that many are out. A feed never
//! learns which enquiry a subject belongs to, with or without batching: each subject is only a
//! reference the broker chose, and the broker gives each check back only its own results.

use std::{sync::Arc, time::Duration};

use mash_domain::Agency;
use mash_proto::v1::{self as pb, feed_search_client::FeedSearchClient};
use mash_telemetry::TracePropagation;
use tokio::{
    sync::{Semaphore, mpsc, oneshot},
    time::Instant,
};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tracing::Instrument;

/// What one feed answered.
pub(crate) enum FeedAnswer {
    Results(Vec<pb::SubjectResult>),
    Unavailable,
    TimedOut,
}

pub(crate) type Feed = FeedSearchClient<InterceptedService<Channel, TracePropagation>>;

/// Subjects one `Search` may carry: the feed's own limit.
const MAX_SUBJECTS: usize = 50;

/// Calls to one feed out at once; further searches wait and go together in the next call.
const IN_FLIGHT: usize = 2;

/// One feed's searches. Cloning gives another handle to the same queue. The queue needs no
/// bound: it holds at most one search per check in flight, and each check waits for its answer.
#[derive(Clone, Debug)]
pub(crate) struct FeedSearches {
    queue: mpsc::UnboundedSender<Waiting>,
}

/// A check's search, waiting for its batch.
struct Waiting {
    subjects: Vec<pb::SubjectQuery>,
    deadline: Instant,
    /// The check's span: the batch's call is traced under the first and linked to the others.
    span: tracing::Span,
    answer: oneshot::Sender<FeedAnswer>,
}

impl FeedSearches {
    /// Starts the task that sends `agency`'s searches; it ends when every handle is dropped.
    pub(crate) fn start(agency: Agency, feed: Feed) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(agency, feed, waiting));
        Self { queue }
    }

    /// The feed's answer about these subjects, or timed out after `deadline`.
    pub(crate) async fn search(&self, subjects: Vec<pb::SubjectQuery>, deadline: Duration) -> FeedAnswer {
        let deadline = Instant::now() + deadline;
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting { subjects, deadline, span: tracing::Span::current(), answer };
        if self.queue.send(waiting).is_err() {
            return FeedAnswer::Unavailable;
        }
        match tokio::time::timeout_at(deadline, answered).await {
            Err(_) => FeedAnswer::TimedOut,
            Ok(answer) => answer.unwrap_or(FeedAnswer::Unavailable),
        }
    }
}

async fn send_batches(agency: Agency, feed: Feed, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    let calls = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(waiting) => waiting,
            None => match queue.recv().await {
                Some(waiting) => waiting,
                None => return,
            },
        };
        // Searches that queue while every call is out join this one.
        let Ok(call) = Arc::clone(&calls).acquire_owned().await else { return };
        let mut batch = vec![first];
        let mut subjects = batch[0].subjects.len();
        while let Ok(waiting) = queue.try_recv() {
            if subjects + waiting.subjects.len() > MAX_SUBJECTS {
                next = Some(waiting);
                break;
            }
            subjects += waiting.subjects.len();
            batch.push(waiting);
        }
        // A check out of time meanwhile is not asked about.
        let now = Instant::now();
        let (batch, late): (Vec<_>, Vec<_>) = batch.into_iter().partition(|w| w.deadline > now);
        for waiting in late {
            let _ = waiting.answer.send(FeedAnswer::TimedOut);
        }
        if !batch.is_empty() {
            mash_telemetry::metrics::metrics().feed_search_batched(agency.as_str(), batch.len());
            let feed = feed.clone();
            tokio::spawn(async move {
                send(feed, batch).await;
                drop(call);
            });
        }
    }
}

/// Asks the feed about a batch and answers each check with its own subjects' results.
async fn send(mut feed: Feed, batch: Vec<Waiting>) {
    let span = tracing::info_span!(parent: &batch[0].span, "broker.feed_search_batch", checks = batch.len());
    for other in &batch[1..] {
        mash_telemetry::link(&span, &other.span);
    }
    // Each subject is sent as its position in the batch, and its results go back to its check
    // under the reference that check gave it.
    let mut owners = Vec::new();
    let mut subjects = Vec::new();
    for (check, waiting) in batch.iter().enumerate() {
        for subject in &waiting.subjects {
            owners.push((check, subject.subject_ref.clone()));
            subjects.push(pb::SubjectQuery { subject_ref: subjects.len().to_string(), person: subject.person.clone() });
        }
    }
    let deadline = batch.iter().map(|w| w.deadline).max().unwrap_or_else(Instant::now);
    let mut request = tonic::Request::new(pb::SearchRequest { subjects });
    request.set_timeout(deadline.saturating_duration_since(Instant::now()));
    let outcome = async { tokio::time::timeout_at(deadline, feed.search(request)).await }.instrument(span).await;
    let every = |answer: fn() -> FeedAnswer| std::iter::repeat_with(answer).take(batch.len()).collect();
    let answers: Vec<FeedAnswer> = match outcome {
        Ok(Ok(response)) => match split(response.into_inner().results, &owners, batch.len()) {
            Some(results) => results.into_iter().map(FeedAnswer::Results).collect(),
            None => every(|| FeedAnswer::Unavailable),
        },
        // The client's own deadline surfaces as one of several codes.
        Ok(Err(status)) if status.code() == Code::DeadlineExceeded || Instant::now() >= deadline => {
            every(|| FeedAnswer::TimedOut)
        }
        Ok(Err(status)) => {
            tracing::warn!(code = ?status.code(), "feed search failed");
            every(|| FeedAnswer::Unavailable)
        }
        Err(_) => every(|| FeedAnswer::TimedOut),
    };
    for (waiting, answer) in batch.into_iter().zip(answers) {
        let _ = waiting.answer.send(answer);
    }
}

/// Each check's results, under its own subject references; `None` if the feed answered about a
/// subject it was not asked about (an answer the broker cannot attribute is shown to no one).
fn split(
    results: Vec<pb::SubjectResult>,
    owners: &[(usize, String)],
    checks: usize,
) -> Option<Vec<Vec<pb::SubjectResult>>> {
    let mut answers = vec![Vec::new(); checks];
    for mut result in results {
        let Some((check, subject_ref)) = result.subject_ref.parse::<usize>().ok().and_then(|at| owners.get(at)) else {
            tracing::warn!("feed answered about a subject it was not asked about; the batch is unavailable");
            return None;
        };
        result.subject_ref.clone_from(subject_ref);
        answers[*check].push(result);
    }
    Some(answers)
}

#[cfg(test)]
mod tests {
    use mash_proto::v1 as pb;

    fn result(subject_ref: &str) -> pb::SubjectResult {
        pb::SubjectResult { subject_ref: subject_ref.into(), ..Default::default() }
    }

    /// Results go back to the check that asked, under its own references.
    #[test]
    fn results_are_split_by_check() {
        let owners = [(0, "a".to_owned()), (0, "b".to_owned()), (1, "a".to_owned())];
        let answers = super::split(vec![result("2"), result("0")], &owners, 3);
        let refs: Option<Vec<Vec<String>>> =
            answers.map(|a| a.into_iter().map(|r| r.into_iter().map(|r| r.subject_ref).collect()).collect());
        assert_eq!(refs, Some(vec![vec!["a".to_owned()], vec!["a".to_owned()], vec![]]));
    }

    /// An answer about a subject nobody asked about makes the whole batch unavailable rather than
    /// being shown to the wrong check.
    #[test]
    fn an_unattributable_answer_is_shown_to_no_one() {
        let owners = [(0, "a".to_owned()), (1, "a".to_owned())];
        for stray in ["2", "x", ""] {
            assert!(super::split(vec![result("0"), result(stray)], &owners, 2).is_none(), "{stray:?}");
        }
    }
}
