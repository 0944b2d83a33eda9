// The console's grading strings (English): the same keys as zh/grading.ts.
import type zh from '../zh/grading'

const en: typeof zh = {
  open: 'Results & grading',
  student: 'Student',
  number: 'Student number',
  class: 'Class',
  tabs: { grading: 'Open answers', results: 'Results', extra: 'Extra time', offline: 'Offline marks' },
  modes: { label: 'Exam mode', online: 'Online', offline: 'Offline (marks imported)' },
  graders: { team: 'Open answers graded by the team', peer: 'Open answers graded by peers' },
  results: {
    empty: 'No student has submitted yet',
    score: 'Score',
    attempts: 'Attempts',
    pending: 'Open answers waiting',
    state: 'State',
    states: { graded: 'Graded', pending: 'Waiting for grading', offline: 'Offline mark' },
  },
  pending: {
    none: 'No answer is waiting for grading',
    byPeers: 'Peers grade this exam\'s open answers: once the exam closes each open question becomes a peer-graded assignment, where the team reviews or overrides a grade (with its reason). There is no grading here.',
    max: 'out of {n}',
    answer: 'The student\'s answer',
    emptyAnswer: '(no answer)',
    reference: 'Reference answer',
    points: 'Points (0–{n})',
    comment: 'Comment',
    grade: 'Grade',
    graded: 'Graded',
  },
  extra: {
    hint: 'Extra online exam time for one student, set before that student starts the exam.',
    pick: 'Choose a student',
    minutes: 'Extra minutes',
    save: 'Set extra time',
    done: '{name} has {n} extra minutes',
  },
  offline: {
    hint: 'Upload a CSV or XLSX per class: a header "学号, 成绩" (number, score), one line per student, scores 0–100. Any bad line imports nothing; importing again replaces the class\'s marks.',
    file: 'Choose the marks file',
    imported: 'Marks of {n} students imported',
    refused: '{n} bad lines: nothing imported',
    noClasses: 'This run has no class yet',
  },
  bank: {
    noChapter: 'Any chapter',
    reference: 'Reference answer (for the graders)',
    explanation: 'Explanation',
    origin: 'From',
    fromCourse: 'Course bank',
    ownRun: 'This run',
    updated: 'Question updated',
    confirmDelete: 'Delete this question?',
    editTitle: 'Edit the question',
    editHint: 'Quizzes and exams already set keep the question as it was.',
    runHint: 'This run\'s question bank: copied from the course bank when the run opened; the team (with edit content) adds, edits and deletes. The course bank is the course leader\'s, under "Course bank" in the course editor, and only affects runs opened after.',
    courseTab: 'Course bank',
    courseHint: 'The course bank is tagged with the course plan\'s chapters and copied into each run opened after; runs already open keep their own bank.',
  },
}

export default en
