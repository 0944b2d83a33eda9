// The teaching pages' strings (Chinese).
export default {
  menu: {},
}
