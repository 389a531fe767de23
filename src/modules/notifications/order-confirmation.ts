/**
 * The order confirmation mail, built from the `order.created` event alone: the event carries the lines, totals and
 * address it needs, so the mail neither waits for nor reads the order tables.
 */
import type { EventData } from '../../lib/event-catalog';
import { formatMoney } from '../../lib/money';
import type { EmailMessage } from '../email/types';

export function orderConfirmationMail(order: EventData<'order.created'>): EmailMessage {
  const locale = order.locale ?? 'en';
  const money = (amount: number) => formatMoney(amount, order.currency, locale);
  const lines = order.items.map(
    (item) => `${item.quantity} x ${item.title} (${item.sku})  ${money(item.total)}`,
  );
  const totals = [
    `Subtotal: ${money(order.subtotal)}`,
    ...(order.discount_total > 0 ? [`Discount: -${money(order.discount_total)}`] : []),
    `Shipping: ${money(order.shipping_total)}`,
    `Tax: ${money(order.tax_total)}`,
    `Total: ${money(order.total)}`,
  ];
  return {
    to: order.email,
    subject: `Your order ${order.id}`,
    text: ['Thank you for your order.', '', `Order: ${order.id}`, '', ...lines, '', ...totals].join('\n'),
  };
}
