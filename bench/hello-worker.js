// The ceiling: a Worker that does nothing, on the same runtime and the same loopback path as edgecart.
export default {
  fetch() {
    return new Response('hello');
  },
};
