// The teacher pages' strings (Chinese).
export default {
  menu: {},
}
