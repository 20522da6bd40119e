//! What a payment gateway told us, in no provider's words. Each gateway module turns its verified
//! notification (or its answer to a query) into one `PaymentEvent`; the merchant checks — app id,
//! merchant id, seller, trade state, amount format — happen there, so the payments use case settles
//! events and never reads a provider's field. Auto-debit's results will be one more source of the
//! same events.
use serde::Serialize;

/// Money arrived for one of our orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paid {
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// The gateway's transaction id (unique per channel).
    pub transaction_id: String,
    /// Who paid, as the gateway names them (WeChat openid, Alipay buyer id), when it says.
    pub payer: Option<String>,
}

/// A refund's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refunded {
    pub out_trade_no: String,
    pub out_refund_no: String,
    /// The gateway's word for the result (`SUCCESS`, `ABNORMAL`, `CLOSED`).
    pub status: String,
    pub refund_id: Option<String>,
}

/// What the gateway says of one of our auto-debit mandates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MandateChange {
    /// Ours: WeChat's `out_contract_code`, Alipay's `external_agreement_no`.
    pub contract_code: String,
    /// The gateway's: WeChat's `contract_id`, Alipay's `agreement_no`.
    pub contract_id: Option<String>,
    pub state: MandateState,
}

/// A mandate's state as the gateway tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MandateState {
    /// Signed: debits may run.
    Signed,
    /// Ended at the gateway (by the owner there, or at our request).
    Terminated,
    /// Signed, but not about our merchant, app or plan, or in a state we do not know: kept for staff.
    Mismatch(String),
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PaymentEvent {
    /// Paid to us: credit the order it names, once.
    Paid(Paid),
    /// The trade exists and credits nothing yet or ever (waiting, closed): recorded, nothing else.
    NotPaid {
        out_trade_no: String,
        state: String,
        /// True while the payer may still pay (a reconciliation asks again later).
        may_still_pay: bool,
    },
    /// Signed, but it cannot pay our order whatever the order says — another merchant's ids, an
    /// unpaid state in a payment event, no amount or transaction id: a mismatch for staff.
    Unpayable {
        out_trade_no: String,
        why: String,
    },
    Refunded(Refunded),
    /// An auto-debit contract or agreement changed at the gateway.
    Mandate(MandateChange),
    /// Signed, about something else.
    Other {
        kind: String,
    },
}

/// A verified notification: its key (the gateway's notification id) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key: Option<String>,
    pub event: PaymentEvent,
}
