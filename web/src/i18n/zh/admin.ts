// The admin pages' strings (Chinese).
export default {
  menu: {},
}
