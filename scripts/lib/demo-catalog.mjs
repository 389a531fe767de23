// The demo catalog: 4 regions, a translated category tree, collections and 200 products (or any number) with variants
// and prices, generated from a fixed seed so every developer and every benchmark sees the same data.

/** mulberry32: a tiny deterministic PRNG; Math.random would make every seed different. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = [
  {
    code: 'us',
    name: 'United States',
    currency: 'USD',
    taxRateBps: 825,
    inclusive: false,
    locales: ['en'],
    countries: ['US', 'PR'],
    // One flat shipping option per region, free over an amount, so a demo cart can be checked out.
    shipping: { name: 'Standard', amount: 599, freeOver: 7500 },
  },
  {
    code: 'eu',
    name: 'European Union',
    currency: 'EUR',
    taxRateBps: 1900,
    inclusive: true,
    locales: ['de', 'en', 'fr'],
    countries: ['DE', 'AT', 'FR', 'NL', 'BE', 'LU', 'IT', 'ES', 'IE', 'PT', 'FI'],
    shipping: { name: 'Standard', amount: 490, freeOver: 5000 },
  },
  {
    code: 'uk',
    name: 'United Kingdom',
    currency: 'GBP',
    taxRateBps: 2000,
    inclusive: true,
    locales: ['en'],
    countries: ['GB'],
    shipping: { name: 'Standard', amount: 395, freeOver: 4000 },
  },
  {
    code: 'jp',
    name: 'Japan',
    currency: 'JPY',
    taxRateBps: 1000,
    inclusive: true,
    locales: ['ja', 'en'],
    countries: ['JP'],
    shipping: { name: 'Standard', amount: 800, freeOver: 8000 },
  },
];

const CATEGORIES = [
  ['apparel', null, { en: 'Apparel', de: 'Bekleidung', fr: 'Vêtements', ja: 'アパレル' }],
  ['tops', 'apparel', { en: 'Tops', de: 'Oberteile', fr: 'Hauts', ja: 'トップス' }],
  ['t-shirts', 'tops', { en: 'T-shirts', de: 'T-Shirts', fr: 'T-shirts', ja: 'Tシャツ' }],
  ['shirts', 'tops', { en: 'Shirts', de: 'Hemden', fr: 'Chemises', ja: 'シャツ' }],
  ['knitwear', 'tops', { en: 'Knitwear', de: 'Strick', fr: 'Maille', ja: 'ニット' }],
  ['bottoms', 'apparel', { en: 'Bottoms', de: 'Hosen', fr: 'Bas', ja: 'ボトムス' }],
  [
    'outerwear',
    'apparel',
    { en: 'Outerwear', de: 'Jacken & Mäntel', fr: 'Vestes & manteaux', ja: 'アウター' },
  ],
  ['home', null, { en: 'Home', de: 'Wohnen', fr: 'Maison', ja: 'ホーム' }],
  ['kitchen', 'home', { en: 'Kitchen', de: 'Küche', fr: 'Cuisine', ja: 'キッチン' }],
  ['living', 'home', { en: 'Living', de: 'Wohnzimmer', fr: 'Salon', ja: 'リビング' }],
  ['accessories', null, { en: 'Accessories', de: 'Accessoires', fr: 'Accessoires', ja: 'アクセサリー' }],
  ['bags', 'accessories', { en: 'Bags', de: 'Taschen', fr: 'Sacs', ja: 'バッグ' }],
  ['hats', 'accessories', { en: 'Hats', de: 'Mützen & Hüte', fr: 'Chapeaux', ja: '帽子' }],
  ['socks', 'accessories', { en: 'Socks', de: 'Socken', fr: 'Chaussettes', ja: '靴下' }],
];

const COLLECTIONS = [
  ['new-arrivals', { en: 'New arrivals', de: 'Neuheiten', fr: 'Nouveautés', ja: '新着' }],
  ['summer', { en: 'Summer', de: 'Sommer', fr: 'Été', ja: '夏' }],
  ['winter', { en: 'Winter', de: 'Winter', fr: 'Hiver', ja: '冬' }],
  ['essentials', { en: 'Essentials', de: 'Basics', fr: 'Essentiels', ja: '定番' }],
  ['gifts', { en: 'Gift ideas', de: 'Geschenkideen', fr: 'Idées cadeaux', ja: 'ギフト' }],
  ['sale', { en: 'Sale', de: 'Sale', fr: 'Soldes', ja: 'セール' }],
];

/**
 * A collection of twelve t-shirts at every catalog size from 144 products (fewer below), spread across the
 * catalog: a list that holds a fixed number of products, whose share of a category shrinks as the catalog grows
 * (the bench lists it with a category, by title).
 */
const LIMITED = {
  handle: 'limited',
  titles: { en: 'Limited edition', de: 'Limitierte Auflage', fr: 'Édition limitée', ja: '限定品' },
};
const LIMITED_PRODUCTS = 12;

// Product types: category, base USD price in cents, options, and names per locale.
const TYPES = [
  ['t-shirts', 2400, ['Size', 'Color'], { en: 'T-shirt', de: 'T-Shirt', fr: 'T-shirt', ja: 'Tシャツ' }],
  ['shirts', 5900, ['Size', 'Color'], { en: 'Shirt', de: 'Hemd', fr: 'Chemise', ja: 'シャツ' }],
  ['knitwear', 8900, ['Size', 'Color'], { en: 'Sweater', de: 'Pullover', fr: 'Pull', ja: 'セーター' }],
  ['bottoms', 7900, ['Size', 'Color'], { en: 'Trousers', de: 'Hose', fr: 'Pantalon', ja: 'パンツ' }],
  ['outerwear', 18900, ['Size', 'Color'], { en: 'Jacket', de: 'Jacke', fr: 'Veste', ja: 'ジャケット' }],
  ['kitchen', 2900, ['Color'], { en: 'Mug', de: 'Tasse', fr: 'Tasse', ja: 'マグカップ' }],
  [
    'kitchen',
    4500,
    ['Size'],
    { en: 'Cutting board', de: 'Schneidebrett', fr: 'Planche à découper', ja: 'まな板' },
  ],
  ['living', 6900, ['Color'], { en: 'Cushion', de: 'Kissen', fr: 'Coussin', ja: 'クッション' }],
  ['living', 12900, ['Color'], { en: 'Throw blanket', de: 'Wolldecke', fr: 'Plaid', ja: 'ブランケット' }],
  ['bags', 9900, ['Color'], { en: 'Tote bag', de: 'Tragetasche', fr: 'Sac cabas', ja: 'トートバッグ' }],
  ['hats', 3400, ['Color'], { en: 'Beanie', de: 'Mütze', fr: 'Bonnet', ja: 'ニット帽' }],
  ['socks', 1400, ['Size', 'Color'], { en: 'Socks', de: 'Socken', fr: 'Chaussettes', ja: 'ソックス' }],
];

const MATERIALS = [
  { en: 'Linen', de: 'Leinen', fr: 'Lin', ja: 'リネン' },
  { en: 'Organic cotton', de: 'Bio-Baumwoll', fr: 'Coton bio', ja: 'オーガニックコットン' },
  { en: 'Merino', de: 'Merino', fr: 'Mérinos', ja: 'メリノ' },
  { en: 'Recycled', de: 'Recycling', fr: 'Recyclé', ja: 'リサイクル' },
  { en: 'Oak', de: 'Eichen', fr: 'Chêne', ja: 'オーク' },
  { en: 'Stoneware', de: 'Steingut', fr: 'Grès', ja: '陶器' },
];
/** Which materials make sense for which category (indexes into MATERIALS): no linen mugs. */
const MATERIALS_FOR = {
  'T-shirt': [0, 1, 3],
  Shirt: [0, 1],
  Sweater: [2, 1, 3],
  Trousers: [0, 1, 3],
  Jacket: [2, 3, 1],
  Mug: [5],
  'Cutting board': [4],
  Cushion: [0, 2, 1],
  'Throw blanket': [0, 2],
  'Tote bag': [3, 1],
  Beanie: [2, 3],
  Socks: [2, 1],
};
const STYLES = [
  { en: 'Classic', de: 'Klassisch', fr: 'Classique' },
  { en: 'Relaxed', de: 'Lässig', fr: 'Décontracté' },
  { en: 'Everyday', de: 'Alltags', fr: 'Quotidien' },
  { en: 'Heritage', de: 'Heritage', fr: 'Héritage' },
];
const SIZES = {
  apparel: ['XS', 'S', 'M', 'L', 'XL'],
  kitchen: ['Small', 'Large'],
  socks: ['36-39', '40-43', '44-47'],
};
const COLORS = ['Black', 'White', 'Navy', 'Olive', 'Sand', 'Rust'];

const TITLE = {
  en: (style, material, type) => `${style.en} ${material.en} ${type.en}`,
  de: (style, material, type) => `${style.de} ${material.de}-${type.de}`,
  fr: (style, material, type) => `${type.fr} ${material.fr.toLowerCase()} ${style.fr.toLowerCase()}`,
  ja: (_style, material, type) => `${material.ja}${type.ja}`,
};
const DESCRIPTION = {
  en: (t) => `${t}: made to last, designed in small batches and shipped from the nearest warehouse.`,
  de: (t) => `${t}, gemacht, um zu bleiben: in kleinen Serien entworfen und aus dem nächsten Lager versandt.`,
  fr: (t) => `${t}, fait pour durer, conçu en petites séries et expédié depuis l'entrepôt le plus proche.`,
  ja: (t) => `長く使える${t}。少量生産で、最寄りの倉庫からお届けします。`,
};

/** Psychological price points: ends in 0 or 5 cents for decimal currencies, in 0 yen for JPY. */
function priceSet(usdCents, rand) {
  const jitter = 0.9 + rand() * 0.2;
  const usd = Math.round((usdCents * jitter) / 100) * 100 - 5;
  return {
    USD: usd,
    EUR: Math.round((usd * 0.95) / 100) * 100 - 10,
    GBP: Math.round((usd * 0.8) / 100) * 100 - 5,
    JPY: Math.round((usd * 1.5) / 10) * 10,
  };
}

function slug(text) {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export function buildDemoCatalog(productCount = 200, seed = 42) {
  const rand = prng(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const categories = CATEGORIES.map(([handle, parent, names], position) => ({
    handle,
    parent,
    names,
    position,
  }));
  const collections = COLLECTIONS.map(([handle, titles]) => ({ handle, titles }));
  // Every `limitedStep`-th product while it is active, a multiple of the types' count so that each is a t-shirt
  // (the first type); a step short of the catalog's twelfth leaves room for those that are not.
  const limitedStep =
    TYPES.length * Math.max(1, Math.floor(productCount / (LIMITED_PRODUCTS + 1) / TYPES.length));
  let limitedCount = 0;
  const products = [];
  const handles = new Map();
  for (let i = 0; products.length < productCount; i++) {
    const [category, basePrice, optionNames, typeNames] = TYPES[i % TYPES.length];
    const material = MATERIALS[pick(MATERIALS_FOR[typeNames.en])];
    const style = pick(STYLES);
    const titles = Object.fromEntries(
      ['en', 'de', 'fr'].map((l) => [l, TITLE[l](style, material, typeNames)]),
    );
    // Every third product also has Japanese text; the rest show the English fallback in Japan.
    if (i % 3 === 0) titles.ja = TITLE.ja(style, material, typeNames);
    // The first product of a title takes its slug, the next ones -2, -3, ...: counted per slug, so a catalog of
    // 100,000 products (a few hundred titles) does not search for a free number each time.
    const base = slug(titles.en);
    const taken = handles.get(base) ?? 0;
    handles.set(base, taken + 1);
    const handle = taken === 0 ? base : `${base}-${taken + 1}`;

    const sizes = category === 'socks' ? SIZES.socks : category === 'kitchen' ? SIZES.kitchen : SIZES.apparel;
    const colors = COLORS.slice(0, 1 + Math.floor(rand() * 3));
    const axes = optionNames.map((name) => ({
      name,
      values: name === 'Size' ? sizes.slice(0, 2 + Math.floor(rand() * (sizes.length - 1))) : colors,
    }));
    const combos = axes.reduce(
      (acc, axis) => acc.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.name]: v }))),
      [{}],
    );
    const prices = priceSet(basePrice, rand);
    // One product in fifteen is not sold in Japan: no JPY price, so it is absent from the jp storefront.
    if (i % 15 === 7) delete prices.JPY;
    const variants = combos.slice(0, 12).map((options, v) => ({
      sku: `${handle.toUpperCase()}-${Object.values(options)
        .map((o) => slug(o).toUpperCase())
        .join('-')}`,
      title: Object.values(options).join(' / '),
      options,
      weightGrams: 100 + Math.floor(rand() * 900),
      barcode: `400${String(1_000_000_000 + i * 100 + v).padStart(10, '0')}`,
      // Larger sizes cost a little more, as they often do.
      prices: Object.fromEntries(
        Object.entries(prices).map(([c, a]) => [
          c,
          options.Size === 'XL' ? a + (c === 'JPY' ? 500 : 500) : a,
        ]),
      ),
    }));
    const status = i % 40 === 39 ? 'draft' : i % 53 === 52 ? 'archived' : 'active';
    const limited = i % limitedStep === 0 && status === 'active' && limitedCount < LIMITED_PRODUCTS;
    if (limited) limitedCount++;
    products.push({
      handle,
      status,
      createdAt: Date.UTC(2026, 0, 1) + i * 3_600_000,
      translations: Object.fromEntries(
        Object.entries(titles).map(([locale, title]) => [
          locale,
          { title, description: DESCRIPTION[locale](title) },
        ]),
      ),
      options: optionNames,
      variants,
      category,
      collections: [
        ...collections
          .filter((_, c) => (i + c) % 4 === 0)
          .map((c) => c.handle)
          .slice(0, 2),
        ...(limited ? [LIMITED.handle] : []),
      ],
      images: [1, 2].map((n) => ({
        url: `https://images.edgecart.dev/demo/${handle}-${n}.jpg`,
        alt: Object.fromEntries(Object.entries(titles).map(([locale, title]) => [locale, `${title} (${n})`])),
      })),
    });
  }
  return {
    regions: REGIONS,
    categories,
    collections: [...collections, LIMITED],
    products,
  };
}
