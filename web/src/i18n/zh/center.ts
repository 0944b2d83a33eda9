// The center pages' strings (Chinese).
export default {
  menu: {},
}
