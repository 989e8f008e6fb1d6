#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retries = -1)]
#[derive(Default)]
struct NegativeRetries;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retries = 2.5)]
#[derive(Default)]
struct DecimalRetries;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retries = 5000000000)]
#[derive(Default)]
struct TooManyRetries;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], initial_retry_delay_seconds = -0.5)]
#[derive(Default)]
struct NegativeDelay;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retry_delay_seconds = 1e999)]
#[derive(Default)]
struct InfiniteDelay;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retry_delay_seconds = 1e300)]
#[derive(Default)]
struct HugeDelay;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], exponential_base_seconds = 0.5)]
#[derive(Default)]
struct ShrinkingBase;

#[ocean::webhook_processor(
    path = "/webhook",
    kinds = ["issue"],
    initial_retry_delay_seconds = 10,
    max_retry_delay_seconds = 5
)]
#[derive(Default)]
struct InitialAboveMax;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retry_delay_seconds = 0.5)]
#[derive(Default)]
struct MaxBelowDefaultInitial;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retries = "3")]
#[derive(Default)]
struct RetriesNotANumber;

fn main() {}
