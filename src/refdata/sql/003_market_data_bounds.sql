-- Per-symbol bounds on incoming market data. Ingestion drops a trade larger than max_trade_qty, a
-- quote whose touch size exceeds max_level_qty, or any price further than max_mark_deviation_bps from
-- the symbol's reference mark, as out_of_bounds with a counted md.anomaly event: one absurd but
-- finite print (a 1e17 trade, a price 100x off) must never reach the engines or the marks.
-- Quantities are in base units; the deviation is in basis points of the reference mark.
CREATE TABLE IF NOT EXISTS market_data_bounds (
    canonical_symbol VARCHAR(20) PRIMARY KEY REFERENCES symbols(canonical_symbol) ON DELETE CASCADE,
    max_trade_qty NUMERIC NOT NULL CHECK (max_trade_qty > 0),
    max_level_qty NUMERIC NOT NULL CHECK (max_level_qty > 0),
    max_mark_deviation_bps NUMERIC NOT NULL CHECK (max_mark_deviation_bps > 0)
);
