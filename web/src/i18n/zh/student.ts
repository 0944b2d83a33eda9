// The student pages' strings (Chinese).
export default {
  menu: {},
}
