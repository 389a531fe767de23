/**
 * How big a cart may get. They bound what one cart costs to read, price and check out (every line is a stock
 * reservation and an order line), and they are far above what a shopper buys at once; a request over one is a
 * 422 with the limit's code, and the write guard (write-guard.ts) enforces them inside each batch, so
 * concurrent requests cannot pass them together either.
 */

/** Units of one variant on one line: 422 `line_quantity_limit`. */
export const MAX_LINE_QUANTITY = 99;

/** Different variants in one cart: 422 `cart_line_limit`. */
export const MAX_CART_LINES = 50;

/** Units across all lines of one cart: 422 `cart_quantity_limit`. */
export const MAX_CART_QUANTITY = 250;
