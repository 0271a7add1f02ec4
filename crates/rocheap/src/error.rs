//! ROCheap's error and failure codes.

payout_core::open_enum! {
    /// A code from `error.code` (request-level) or `failure_code.code` (an order that failed).
    ///
    /// Unknown codes are kept as [`ErrorCode::Unknown`]: ROCheap's full list is not public.
    pub enum ErrorCode {
        /// No for-sale game pass at the required price was found in the universe (user-caused).
        GamepassNotFound => "GAMEPASS_NOT_FOUND",
        /// The receiver's game pass was not on sale at the required price, or its price changed
        /// while the order was processing (user-caused).
        OrderFailedUserError => "ORDER_FAILED_USER_ERROR",
        /// The order was refunded to your balance.
        OrderRefunded => "ORDER_REFUNDED",
        /// Your ROCheap balance cannot cover the order (top up; caused by you).
        InsufficientBalance => "INSUFFICIENT_BALANCE",
        /// The Roblox user id does not exist (check the id you sent).
        UserDoesNotExist => "USER_DOES_NOT_EXIST",
        /// No order with that id (or custom id).
        OrderNotFound => "ORDER_NOT_FOUND",
    }
}

impl ErrorCode {
    /// True for failures the receiving user caused and can fix (publish a game pass at the
    /// right price, keep it on sale). The excerpt: notify your user of these.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ErrorCode::GamepassNotFound | ErrorCode::OrderFailedUserError | ErrorCode::OrderRefunded
        )
    }

    /// True for failures caused on your side (balance, a wrong user id).
    pub fn is_integrator_error(&self) -> bool {
        matches!(self, ErrorCode::InsufficientBalance | ErrorCode::UserDoesNotExist)
    }
}

/// The error code of a [`crate::Error`] returned by this crate, if it carries a ROCheap code.
pub fn error_code(err: &crate::Error) -> Option<ErrorCode> {
    err.provider_code().map(ErrorCode::from)
}
